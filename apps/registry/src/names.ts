import { RegistryError } from "./errors.js";

// The spec's grammar for repository names and tags.
const component = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const namePattern = new RegExp(`^${component}(?:/${component})*$`);
const tagPattern = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Longest repository name accepted, as in the reference registry. */
export const maxNameLength = 255;

export function isValidName(name: string): boolean {
  return name.length <= maxNameLength && namePattern.test(name);
}

export function assertName(name: string): void {
  if (!isValidName(name)) {
    throw new RegistryError(
      "NAME_INVALID",
      `"${name.slice(0, 300)}" is not a valid repository name`,
    );
  }
}

export function isValidTag(tag: string): boolean {
  return tagPattern.test(tag);
}

export function assertTag(tag: string): void {
  if (!isValidTag(tag))
    throw new RegistryError("TAG_INVALID", `"${tag.slice(0, 200)}" is not a valid tag`);
}
