import { readFileSync } from "node:fs";
import type { PlatformInfo } from "@skiff/shared";
import type { Env } from "../../env.js";

/** The api's version, from its package.json (one folder above both src/ and dist/). */
function apiVersion(): string {
  try {
    const text = readFileSync(new URL("../../../package.json", import.meta.url), "utf8");
    return (JSON.parse(text) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** What GET /v1/info answers (besides the registry address), from the configuration. */
export function platformInfo(env: Env): Omit<PlatformInfo, "registryAddress"> {
  // With SKIFF_GATEWAY_PORT=0 the gateway runs as its own process, on its default port.
  const gatewayPort = env.SKIFF_GATEWAY_PORT || 8000;
  const features: string[] = ["services", "tasks", "usage"];
  if (env.SKIFF_GATEWAY_PORT > 0) features.push("gateway");
  if (env.SKIFF_REGISTRY_PORT > 0) features.push("registry");
  if (env.SKIFF_LOCAL_AGENT) features.push("local-agent");
  if (env.SKIFF_FARGATE_PROVISIONER || env.SKIFF_FARGATE_PROVISIONER_URL)
    features.push("fargate-provisioner");
  return {
    domain: env.SKIFF_DOMAIN,
    gatewayPort,
    gatewayUrl:
      env.SKIFF_GATEWAY_URL_TEMPLATE ?? `http://{service}.${env.SKIFF_DOMAIN}:${gatewayPort}/`,
    version: apiVersion(),
    features,
  };
}
