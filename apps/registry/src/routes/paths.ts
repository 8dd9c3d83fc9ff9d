import { isValidName } from "../names.js";

/** What a `/v2/...` path addresses. */
export type Target =
  | { kind: "base" }
  | { kind: "catalog" }
  | { kind: "tags"; name: string }
  | { kind: "manifest"; name: string; reference: string }
  | { kind: "blob"; name: string; digest: string }
  | { kind: "uploads"; name: string }
  | { kind: "upload"; name: string; id: string }
  | { kind: "referrers"; name: string; digest: string }
  | { kind: "invalidName"; name: string };

// Names hold slashes, so the fixed suffix decides what a path is and the rest is the name.
const patterns: [RegExp, (name: string, rest: string) => Target][] = [
  [/^\/v2\/(.+)\/tags\/list$/, (name) => ({ kind: "tags", name })],
  [
    /^\/v2\/(.+)\/manifests\/([^/]+)$/,
    (name, reference) => ({ kind: "manifest", name, reference }),
  ],
  [/^\/v2\/(.+)\/blobs\/uploads\/?$/, (name) => ({ kind: "uploads", name })],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, (name, id) => ({ kind: "upload", name, id })],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, (name, digest) => ({ kind: "blob", name, digest })],
  [/^\/v2\/(.+)\/referrers\/([^/]+)$/, (name, digest) => ({ kind: "referrers", name, digest })],
];

/** Parses a request path; undefined when it is no endpoint of the spec. */
export function matchPath(path: string): Target | undefined {
  if (path === "/v2/" || path === "/v2") return { kind: "base" };
  if (path === "/v2/_catalog") return { kind: "catalog" };
  for (const [pattern, make] of patterns) {
    const match = pattern.exec(path);
    if (!match?.[1]) continue;
    const name = decodeURIComponent(match[1]);
    if (!isValidName(name)) return { kind: "invalidName", name };
    return make(name, decodeURIComponent(match[2] ?? ""));
  }
  return undefined;
}

/** The action a request needs on its repository, for the token check. */
export function actionFor(method: string, target: Target): "pull" | "push" | "delete" | undefined {
  if (target.kind === "base" || target.kind === "catalog" || target.kind === "invalidName") {
    return undefined;
  }
  if (method === "GET" || method === "HEAD") return "pull";
  if (method === "DELETE" && (target.kind === "manifest" || target.kind === "blob"))
    return "delete";
  return "push";
}
