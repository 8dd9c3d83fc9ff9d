import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, get, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendFile } from "./send-file.js";

// Larger than two buffers, not a multiple of one: every turn of the loop and a short last read.
// Larger than the kernel's socket buffers too, so a client that stops reading leaves a write
// pending.
const data = randomBytes(24 * (1 << 20) + 12345);
let dir: string;
let path: string;
let server: Server;
let sent: Promise<void>[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "skiff-send-file-"));
  path = join(dir, "blob");
  await writeFile(path, data);
  sent = [];
  server = createServer((request, response) => {
    const [start, end] = (request.url ?? "").slice(1).split("-").map(Number);
    const range = { start: start ?? 0, end: end ?? data.length - 1 };
    response.writeHead(200, { "Content-Length": String(range.end - range.start + 1) });
    const done = sendFile(path, response, range);
    done.catch(() => response.destroy());
    sent.push(done);
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
});

afterAll(async () => {
  await new Promise((closed) => server.close(closed));
  await rm(dir, { recursive: true, force: true });
});

/**
 * GETs `start-end` and reads the whole body; `abortAfter` stops reading after that many bytes
 * and cuts the connection a little later, while the server is blocked on a full socket.
 */
function fetchRange(start: number, end: number, abortAfter?: number): Promise<Buffer> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    get(`http://127.0.0.1:${port}/${start}-${end}`, (response) => {
      const chunks: Buffer[] = [];
      let received = 0;
      response.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (abortAfter !== undefined && received >= abortAfter) {
          response.pause();
          setTimeout(() => {
            response.destroy();
            resolve(Buffer.concat(chunks));
          }, 200);
        }
      });
      response.on("end", () => resolve(Buffer.concat(chunks)));
      response.on("error", reject);
    }).on("error", reject);
  });
}

describe("sendFile", () => {
  it("sends the whole file and ranges across buffer boundaries, byte for byte", async () => {
    expect((await fetchRange(0, data.length - 1)).equals(data)).toBe(true);
    const start = (1 << 20) - 7;
    const end = 2 * (1 << 20) + 99;
    expect((await fetchRange(start, end)).equals(data.subarray(start, end + 1))).toBe(true);
    expect((await fetchRange(10, 19)).equals(data.subarray(10, 20))).toBe(true);
    await expect(Promise.all(sent)).resolves.toBeDefined();
  });

  it("gives up, without hanging, when the client goes away mid-download", async () => {
    sent.length = 0;
    await fetchRange(0, data.length - 1, 1);
    await expect(sent[0]).rejects.toThrow();
    // The server still answers the next client.
    expect((await fetchRange(0, 99)).equals(data.subarray(0, 100))).toBe(true);
  });

  it("opens with small writes, so the client's receive window can grow, then writes 1 MiB", async () => {
    const sizes: number[] = [];
    const out = new Writable({
      write(chunk: Buffer, _encoding, done) {
        sizes.push(chunk.length);
        done();
      },
    });
    await sendFile(path, out, { start: 0, end: data.length - 1 });
    expect(sizes.slice(0, 16)).toEqual(Array(16).fill(32 * 1024));
    expect(sizes[16]).toBe(1 << 20);
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(data.length);
  });
});
