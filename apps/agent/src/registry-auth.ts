import { parseImageReference } from "@skiff/shared";

/** Credentials dockerode hands the engine for one pull (Docker's `X-Registry-Auth`). */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/**
 * Picks the node's credentials for images in Skiff's own registries (those configured, and the
 * one the api advertises, read at each pull) and nothing for any other: a node credential must
 * never be sent to a registry Skiff does not run.
 */
export function skiffRegistryAuth(
  addresses: () => readonly string[],
  credentials: () => { nodeId: string; credential: string } | undefined,
): (image: string) => RegistryAuth | undefined {
  return (image) => {
    const registry = parseImageReference(image).registry?.toLowerCase();
    const known = addresses().map((address) => address.trim().toLowerCase());
    const held = credentials();
    if (!registry || !known.includes(registry) || !held) return undefined;
    return { username: held.nodeId, password: held.credential, serveraddress: registry };
  };
}

/** Docker Hub's key in a Docker config's `auths`, for images whose name has no registry host. */
const dockerHubKey = "https://index.docker.io/v1/";

/**
 * Credentials for other registries from a Docker client config (`config.json`: `auths` keyed by
 * registry, each with `auth` = base64 "user:password", or `username` and `password`), as an
 * operator writes with `docker login` on the node, like ECS's ECS_ENGINE_AUTH_DATA or Nomad's
 * `auth.config`. The file is read at each pull, so a new login needs no agent restart; a missing
 * or broken file gives no credentials (the pull then fails with the registry's own answer).
 */
export function dockerConfigAuth(
  readConfig: () => string | undefined,
): (image: string) => RegistryAuth | undefined {
  return (image) => {
    const registry = parseImageReference(image).registry ?? dockerHubKey;
    const auths = parseAuths(readConfig());
    const entry = Object.entries(auths).find(([key]) => sameRegistry(key, registry))?.[1];
    if (!entry) return undefined;
    const [username, password] = entry.auth
      ? splitOnce(Buffer.from(entry.auth, "base64").toString("utf8"), ":")
      : [entry.username, entry.password];
    if (!username || password === undefined) return undefined;
    return { username, password, serveraddress: registry };
  };
}

type AuthEntry = { auth?: string; username?: string; password?: string };

function parseAuths(text: string | undefined): Record<string, AuthEntry> {
  if (!text) return {};
  try {
    const auths = (JSON.parse(text) as { auths?: unknown }).auths;
    return auths && typeof auths === "object" ? (auths as Record<string, AuthEntry>) : {};
  } catch {
    return {};
  }
}

/** `auths` keys may carry a scheme and path (`https://registry.example.com/v1/`). */
function sameRegistry(key: string, registry: string): boolean {
  if (key === registry) return true;
  const host = key.replace(/^https?:\/\//, "").split("/")[0] ?? "";
  return host.toLowerCase() === registry.toLowerCase();
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + separator.length)];
}

/** The first resolver with credentials for the image wins. */
export function firstAuth(
  ...resolvers: ((image: string) => RegistryAuth | undefined)[]
): (image: string) => RegistryAuth | undefined {
  return (image) => {
    for (const resolve of resolvers) {
      const auth = resolve(image);
      if (auth) return auth;
    }
    return undefined;
  };
}
