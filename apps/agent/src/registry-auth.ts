/** Credentials dockerode hands the engine for one pull (Docker's `X-Registry-Auth`). */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/**
 * The registry host of an image reference (`localhost:5000/team/app:1` -> `localhost:5000`), or
 * undefined for Docker Hub names: the first component is a host only when it has a dot, a
 * port or is `localhost`, as the Docker CLI decides.
 */
export function registryOf(image: string): string | undefined {
  const slash = image.indexOf("/");
  if (slash < 0) return undefined;
  const first = image.slice(0, slash);
  if (first === "localhost" || first.includes(".") || first.includes(":")) return first;
  return undefined;
}

/**
 * Picks the node's credentials for images in Skiff's own registries and nothing for any other:
 * a node credential must never be sent to a registry Skiff does not run.
 */
export function skiffRegistryAuth(
  addresses: readonly string[],
  credentials: () => { nodeId: string; credential: string } | undefined,
): (image: string) => RegistryAuth | undefined {
  const known = new Set(addresses.map((address) => address.trim().toLowerCase()).filter(Boolean));
  return (image) => {
    const registry = registryOf(image)?.toLowerCase();
    const held = credentials();
    if (!registry || !known.has(registry) || !held) return undefined;
    return { username: held.nodeId, password: held.credential, serveraddress: registry };
  };
}
