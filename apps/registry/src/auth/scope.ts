import type { Access } from "./jwt.js";

/**
 * Parses the `scope` parameters of a token request: `repository:team/app:pull,push`. The name
 * may hold colons only in a registry host part, which Skiff's names never have, so the last
 * colon splits off the actions.
 */
export function parseScopes(scopes: readonly string[]): Access[] {
  const parsed: Access[] = [];
  for (const scope of scopes) {
    for (const one of scope.split(" ")) {
      const first = one.indexOf(":");
      const last = one.lastIndexOf(":");
      if (first <= 0 || last <= first) continue;
      const actions = one
        .slice(last + 1)
        .split(",")
        .filter(Boolean);
      parsed.push({ type: one.slice(0, first), name: one.slice(first + 1, last), actions });
    }
  }
  return parsed;
}

/** Whether the grants allow `action` on repository `name` (`*` grants every action). */
export function allows(access: readonly Access[], name: string, action: string): boolean {
  return access.some(
    (grant) =>
      grant.type === "repository" &&
      grant.name === name &&
      (grant.actions.includes(action) || grant.actions.includes("*")),
  );
}
