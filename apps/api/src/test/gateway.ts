import { createServer, type IncomingHttpHeaders, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import { type Gateway, type GatewayOptions, newGateway } from "../gateway/proxy.js";

export interface ServedGateway {
  gateway: Gateway;
  port: number;
  close(): Promise<void>;
}

/** The gateway's handlers on a node:http server on a free loopback port, as server.ts serves them. */
export async function serveGateway(options: GatewayOptions): Promise<ServedGateway> {
  const gateway = newGateway(options);
  const server: Server = createServer(gateway.request);
  server.on("upgrade", gateway.upgrade);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    gateway,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      gateway.pools.close();
    },
  };
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | Readable;
  /** Counts the response body's bytes instead of keeping them (large downloads). */
  countOnly?: boolean;
}

/**
 * One request over node:http (which, unlike fetch, sends the Host header it is given and passes
 * a compressed body through as bytes).
 */
export function call(
  port: number,
  host: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer & { bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers: { host, ...options.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          if (!options.countOnly) chunks.push(chunk);
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            bytes,
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    const body = options.body;
    if (body === undefined || typeof body === "string" || Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

/** A test HTTP server on a free loopback port. */
export async function listen(server: Server): Promise<number> {
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return (server.address() as AddressInfo).port;
}
