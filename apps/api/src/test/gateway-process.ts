import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { newGateway } from "../gateway/proxy.js";
import { createLogger } from "../lib/logger.js";

// The gateway alone in a process of its own, so a test can read its memory (RSS) apart from
// the test's own clients: `node --import tsx gateway-process.ts`, with GATEWAY_TARGETS a JSON
// object of service name to target URL and GATEWAY_MAX_BODY_BYTES. Prints "port <n>".
const targets = new Map<string, { taskId: string; url: string }[]>(
  Object.entries(JSON.parse(process.env.GATEWAY_TARGETS ?? "{}") as Record<string, string>).map(
    ([service, url]) => [service, [{ taskId: service, url }]],
  ),
);
const gateway = newGateway({
  targets: { get: (service) => targets.get(service) },
  domain: "skiff.test",
  logger: createLogger("silent"),
  settings: { maxBodyBytes: Number(process.env.GATEWAY_MAX_BODY_BYTES ?? 10 * 1024 * 1024) },
});
const server = createServer(gateway.request);
server.on("upgrade", gateway.upgrade);
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`port ${(server.address() as AddressInfo).port}\n`);
});
