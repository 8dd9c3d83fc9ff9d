import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import type { Context } from "hono";
import { RegistryError } from "../errors.js";

/**
 * The request body as a Node stream, never buffered: the socket itself under
 * @hono/node-server, else (in-process tests) the web stream converted.
 */
export function bodyStream(c: Context): Readable {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && typeof incoming.pipe === "function" && !incoming.readableEnded) return incoming;
  const body = c.req.raw.body;
  if (!body) return Readable.from([]);
  return Readable.fromWeb(body as import("node:stream/web").ReadableStream);
}

/** Reads a small body whole (manifests), refusing more than `limit` bytes as it arrives. */
export async function readLimited(c: Context, limit: number): Promise<Buffer> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > limit) {
    throw new RegistryError(
      "MANIFEST_TOO_LARGE",
      `the manifest is larger than ${limit} bytes`,
      undefined,
      413,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of bodyStream(c)) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      throw new RegistryError(
        "MANIFEST_TOO_LARGE",
        `the manifest is larger than ${limit} bytes`,
        undefined,
        413,
      );
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Parses `Range: bytes=a-b` against a blob of `size` bytes; RANGE_INVALID when unsatisfiable. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (!match[1] && !match[2]))
    throw new RegistryError("RANGE_INVALID", `bad Range ${header}`, undefined, 416);
  let start: number;
  let end: number;
  if (!match[1]) {
    // A suffix range: the last N bytes.
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] ? Math.min(Number(match[2]), size - 1) : size - 1;
  }
  if (start > end || start >= size) {
    throw new RegistryError(
      "RANGE_INVALID",
      `range ${header} is outside the blob of ${size} bytes`,
      undefined,
      416,
    );
  }
  return { start, end };
}

/** Parses a PATCH's `Content-Range: a-b` (some clients prefix `bytes `); the start offset. */
export function parseContentRange(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/\d+|\/\*)?$/.exec(header.trim());
  if (!match)
    throw new RegistryError("RANGE_INVALID", `bad Content-Range ${header}`, undefined, 416);
  return Number(match[1]);
}
