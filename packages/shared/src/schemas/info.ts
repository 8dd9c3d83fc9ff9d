import { z } from "zod";

export const platformInfoSchema = z.object({
  domain: z.string().describe("Services answer on the gateway at <service>.<domain>"),
  gatewayPort: z
    .number()
    .int()
    .describe("Port of the gateway as clients reach it (8000 unless configured)"),
  gatewayUrl: z
    .string()
    .describe("A service's URL on the gateway, with `{service}` standing for its name"),
  registryAddress: z.string().describe("host:port of the built-in registry"),
  version: z.string().describe("Version of the api"),
  features: z
    .array(z.string())
    .describe("Optional parts running here, e.g. gateway, registry, fargate-provisioner"),
});
export type PlatformInfo = z.infer<typeof platformInfoSchema>;

/** A service's URL on the gateway, from the `gatewayUrl` template of GET /v1/info. */
export function serviceGatewayUrl(info: Pick<PlatformInfo, "gatewayUrl">, service: string): string {
  return info.gatewayUrl.replaceAll("{service}", service);
}
