import { mkdtemp, rm } from "node:fs/promises";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { constants, type PerformanceEntry, PerformanceObserver } from "node:perf_hooks";
import { afterAll, beforeAll, expect, it } from "vitest";
import { FsBlobStore } from "./storage/fs-store.js";
import { collectYoungGarbage } from "./young-garbage.js";

const uploadBytes = 96 << 20;
let dir: string;
let store: FsBlobStore;
let server: Server;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "skiff-young-garbage-"));
  store = new FsBlobStore(dir);
  await store.init();
  // The body reaches the store as it does in the registry: one Buffer per socket read, each
  // noted as the upload service notes it.
  server = createServer((incoming, response) => {
    store
      .appendUpload("upload", incoming, (chunk) => collectYoungGarbage(chunk.length))
      .then(
        (size) => response.end(String(size)),
        () => response.destroy(),
      );
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
});

afterAll(async () => {
  server?.close();
  await rm(dir, { recursive: true, force: true });
});

it("collects an upload's socket chunks young: a scavenge per 4 MiB, not major collections", async () => {
  await store.createUpload("upload");
  const kinds: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { detail } = entry as PerformanceEntry & { detail?: { kind: number } };
      kinds.push(detail?.kind ?? -1);
    }
  });
  observer.observe({ entryTypes: ["gc"] });

  const { port } = server.address() as AddressInfo;
  const size = await new Promise<string>((answered, failed) => {
    const upload = request({ port, method: "PATCH", host: "127.0.0.1" }, (response) => {
      let text = "";
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => answered(text));
    });
    upload.on("error", failed);
    const block = Buffer.alloc(1 << 20, 7);
    let left = uploadBytes / block.length;
    const send = () => {
      while (left > 0) {
        left -= 1;
        if (!upload.write(block)) {
          upload.once("drain", send);
          return;
        }
      }
      upload.end();
    };
    send();
  });
  // Entries arrive on a later turn of the event loop.
  await new Promise((turn) => setTimeout(turn, 50));
  observer.disconnect();

  expect(Number(size)).toBe(uploadBytes);
  const minor = kinds.filter((kind) => kind === constants.NODE_PERFORMANCE_GC_MINOR).length;
  const major = kinds.filter((kind) => kind === constants.NODE_PERFORMANCE_GC_MAJOR).length;
  expect(minor).toBeGreaterThanOrEqual(uploadBytes / (4 << 20) - 1);
  // Without the scavenges: 1-2 minor collections and 4 major ones. A fresh test worker may
  // still run one major collection as V8 sizes its heap.
  expect(major).toBeLessThanOrEqual(1);
});
