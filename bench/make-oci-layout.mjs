// Writes an OCI image layout of `layers` layers of `layerMb` MiB of random bytes each, tagged
// `tag`. Layers are gzipped here (fast level, the bytes are random anyway), so skopeo sends them
// as they are instead of compressing during the timed run.
// Usage: node make-oci-layout.mjs <dir> <layers> <layerMb> <tag>
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createGzip } from "node:zlib";

const [dir, layers = "5", layerMb = "40", tag = "bench"] = process.argv.slice(2);
if (!dir) throw new Error("usage: make-oci-layout.mjs <dir> <layers> <layerMb> <tag>");
const blobs = join(dir, "blobs", "sha256");
mkdirSync(blobs, { recursive: true });

function writeBlob(bytes) {
  const hex = createHash("sha256").update(bytes).digest("hex");
  writeFileSync(join(blobs, hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

/** A gzipped tar of one file of random bytes, streamed to disk and hashed as it goes. */
async function writeLayer(index, bytes) {
  // diff_ids are of the uncompressed tar; hash it alongside.
  const plain = createHash("sha256");
  const header = Buffer.alloc(512);
  header.write(`layer${index}.bin`, 0);
  header.write("0000644\0", 100);
  header.write("0000000\0", 108);
  header.write("0000000\0", 116);
  header.write(`${bytes.toString(8).padStart(11, "0")}\0`, 124);
  header.write("00000000000\0", 136);
  header.write("        ", 148);
  header.write("0", 156);
  header.write("ustar\u000000", 257);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const hash = createHash("sha256");
  const temp = join(blobs, `tmp-${index}`);
  const gzip = createGzip({ level: 1 });
  const out = createWriteStream(temp);
  let size = 0;
  gzip.on("data", (chunk) => {
    hash.update(chunk);
    size += chunk.length;
  });
  gzip.pipe(out);
  const write = (chunk) => {
    plain.update(chunk);
    return gzip.write(chunk) ? undefined : new Promise((done) => gzip.once("drain", done));
  };
  await write(header);
  for (let left = bytes; left > 0; left -= 1 << 20)
    await write(randomBytes(Math.min(left, 1 << 20)));
  const pad = (512 - (bytes % 512)) % 512;
  await write(Buffer.alloc(pad + 1024));
  await new Promise((done) => {
    out.once("finish", done);
    gzip.end();
  });
  const hex = hash.digest("hex");
  renameSync(temp, join(blobs, hex));
  return { digest: `sha256:${hex}`, size, diffId: `sha256:${plain.digest("hex")}` };
}

const diffIds = [];
const layerDescriptors = [];
for (let i = 0; i < Number(layers); i++) {
  const layer = await writeLayer(i, Number(layerMb) * 1024 * 1024);
  diffIds.push(layer.diffId);
  layerDescriptors.push({
    mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
    digest: layer.digest,
    size: layer.size,
  });
}
const config = writeBlob(
  Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Cmd: ["/layer0.bin"] },
      rootfs: { type: "layers", diff_ids: diffIds },
    }),
  ),
);
const manifest = writeBlob(
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: layerDescriptors,
    }),
  ),
);
writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
writeFileSync(
  join(dir, "index.json"),
  JSON.stringify({
    schemaVersion: 2,
    manifests: [
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        ...manifest,
        annotations: { "org.opencontainers.image.ref.name": tag },
      },
    ],
  }),
);
