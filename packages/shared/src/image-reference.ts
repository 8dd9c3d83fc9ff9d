/** The parts of an image reference as the Docker CLI reads it. */
export interface ImageReference {
  /** The registry host (`localhost:5000`); absent for Docker Hub names (`nginx`, `team/app`). */
  registry?: string;
  /** The path after the host (`team/app`), as written: Docker Hub's `library/` is not added. */
  repository: string;
  tag?: string;
  /** `sha256:<hex>`, after `@`. */
  digest?: string;
}

/**
 * Splits `[registry/]repository[:tag][@digest]`. The first path part is a registry host only
 * when it has a dot or a colon (a port) or is `localhost`, the Docker CLI's rule; otherwise the
 * image is on Docker Hub. Parses, does not validate: a malformed name gives odd parts, not an
 * error (the engine refuses it at the pull).
 */
export function parseImageReference(image: string): ImageReference {
  const at = image.indexOf("@");
  const name = at >= 0 ? image.slice(0, at) : image;
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  const slash = name.indexOf("/");
  const first = slash > 0 ? name.slice(0, slash) : undefined;
  const registry =
    first !== undefined && (first === "localhost" || first.includes(".") || first.includes(":"))
      ? first
      : undefined;
  let repository = registry === undefined ? name : name.slice(slash + 1);
  let tag: string | undefined;
  const colon = repository.lastIndexOf(":");
  if (colon > repository.lastIndexOf("/")) {
    tag = repository.slice(colon + 1);
    repository = repository.slice(0, colon);
  }
  return {
    ...(registry === undefined ? {} : { registry }),
    repository,
    ...(tag ? { tag } : {}),
    ...(digest ? { digest } : {}),
  };
}
