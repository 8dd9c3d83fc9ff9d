import { randomBytes } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registryBlobs } from "../db/schema/index.js";
import { pushBlob, pushImage, randomImage, sha256 } from "../test/oci.js";
import { startTestRegistry, type TestRegistry } from "../test/stack.js";
import { collectGarbage } from "./gc.js";

let registry: TestRegistry;
let token: string;

beforeAll(async () => {
  registry = await startTestRegistry();
  token = registry.token({ race: ["pull", "push", "delete"], old: ["pull", "push", "delete"] });
});
afterAll(() => registry.close());

async function blobStatus(repository: string, digest: string): Promise<number> {
  return (await registry.fetch(`/v2/${repository}/blobs/${digest}`, { method: "HEAD", token }))
    .status;
}

/** Makes a blob look untouched for an hour, as if pushed long ago. */
async function age(digest: string): Promise<void> {
  await registry.db
    .update(registryBlobs)
    .set({ touchedAt: sql`now() - interval '1 hour'` })
    .where(eq(registryBlobs.digest, digest));
}

describe("online garbage collection", () => {
  it("frees unreferenced old blobs and keeps referenced ones", async () => {
    const image = randomImage(2);
    const digest = await pushImage(registry, "old", "v1", token, image);
    const stray = await pushBlob(registry, "old", randomBytes(300), token);
    for (const blob of [stray, image.manifest.config.digest]) await age(blob);
    const freed = await collectGarbage(registry.server.context, { graceMs: 60_000 });
    expect(freed.blobs).toBe(1);
    expect(await blobStatus("old", stray)).toBe(404);
    expect(await registry.server.context.store.stat(stray)).toBeUndefined();
    expect(await blobStatus("old", image.manifest.config.digest)).toBe(200);

    // Once the manifest is gone its blobs go too, after their grace period.
    await registry.fetch(`/v2/old/manifests/${digest}`, { method: "DELETE", token });
    for (const blob of [image.manifest.config, ...image.manifest.layers]) await age(blob.digest);
    expect((await collectGarbage(registry.server.context, { graceMs: 60_000 })).blobs).toBe(3);
  });

  it("never loses a blob of a push racing the collector", async () => {
    const context = registry.server.context;
    let collecting = true;
    let passes = 0;
    // The collector runs back to back with no grace at all while the pushes go on.
    const collector = (async () => {
      while (collecting) {
        await collectGarbage(context, { graceMs: 0, batch: 50 });
        passes++;
      }
    })();
    const pushes = Array.from({ length: 6 }, async (_, worker) => {
      const pushed: { tag: string; image: ReturnType<typeof randomImage> }[] = [];
      for (let round = 0; round < 6; round++) {
        const image = randomImage(3, 2048);
        const tag = `w${worker}-r${round}`;
        await pushImage(registry, "race", tag, token, image);
        pushed.push({ tag, image });
      }
      return pushed;
    });
    const results = await Promise.allSettled(pushes);
    collecting = false;
    await collector;
    expect(passes).toBeGreaterThan(3);
    for (const result of results) {
      // A push may be refused (MANIFEST_BLOB_UNKNOWN) when the collector won the race for a
      // blob with no grace at all; what must never happen is a stored manifest with a lost blob.
      if (result.status === "rejected") {
        expect(String(result.reason)).toContain("MANIFEST_BLOB_UNKNOWN");
        continue;
      }
      for (const { tag, image } of result.value) {
        const manifest = await registry.fetch(`/v2/race/manifests/${tag}`, { token });
        expect(manifest.status, tag).toBe(200);
        for (const blob of [image.manifest.config, ...image.manifest.layers]) {
          const get = await registry.fetch(`/v2/race/blobs/${blob.digest}`, { token });
          expect(get.status, `${tag} ${blob.digest}`).toBe(200);
          expect(sha256(Buffer.from(await get.arrayBuffer())), tag).toBe(blob.digest);
        }
      }
    }
  });

  it("keeps every blob of pushes racing the collector within the grace period", async () => {
    const context = registry.server.context;
    let collecting = true;
    const collector = (async () => {
      while (collecting) await collectGarbage(context, { graceMs: 5_000, batch: 50 });
    })();
    const images = await Promise.all(
      Array.from({ length: 8 }, async (_, n) => {
        const image = randomImage(3, 4096);
        await pushImage(registry, "race", `grace-${n}`, token, image);
        return image;
      }),
    );
    collecting = false;
    await collector;
    for (const image of images) {
      for (const blob of [image.manifest.config, ...image.manifest.layers]) {
        expect(await blobStatus("race", blob.digest)).toBe(200);
        expect(await context.store.stat(blob.digest)).toBe(blob.size);
      }
    }
  });

  it("keeps a blob a client found with HEAD before pushing the manifest naming it", async () => {
    const image = randomImage(1);
    await pushBlob(registry, "old", image.config, token);
    await pushBlob(registry, "old", image.layerData[0] as Buffer, token);
    for (const blob of [image.manifest.config, ...image.manifest.layers]) await age(blob.digest);
    // docker push asks first whether the layer is there, and skips uploading it when it is.
    for (const blob of [image.manifest.config, ...image.manifest.layers]) {
      expect(await blobStatus("old", blob.digest)).toBe(200);
    }
    await collectGarbage(registry.server.context, { graceMs: 60_000 });
    const put = await registry.fetch("/v2/old/manifests/after-head", {
      method: "PUT",
      token,
      body: image.bytes,
      headers: { "content-type": image.manifest.mediaType },
    });
    expect(put.status, await put.text()).toBe(201);
  });
});
