import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Context } from "hono";
import type { AppEnv } from "./hono-env.js";

/** Where `npm run build` puts the dashboard, seen from apps/api/dist (and in the image). */
export const defaultDashboardDir = fileURLToPath(
  new URL("../../../dashboard/dist", import.meta.url),
);

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * What the browser may do with the dashboard's pages. Everything comes from this origin: the
 * built app has no inline script or style element (React and uPlot set styles through the DOM,
 * which style-src does not govern) and its favicon is a `data:` URL. No other site may frame it
 * (clickjacking of admin actions); MIME types are not guessed; no URL (a pasted token in a
 * query) leaks to another site in the Referer.
 */
export const dashboardSecurityHeaders: Readonly<Record<string, string>> = {
  "content-security-policy": [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; "),
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/**
 * Serves the built dashboard: its files, and index.html for any other path outside /v1 so the
 * single-page app's own routes survive a reload. Undefined when `dir` holds no build (an api
 * built without it answers / with the JSON 404 as before).
 */
export function dashboardHandler(dir: string) {
  const root = resolve(dir);
  if (!existsSync(resolve(root, "index.html"))) return undefined;
  return async (c: Context<AppEnv>, next: () => Promise<void>) => {
    const path = c.req.path;
    if (
      (c.req.method !== "GET" && c.req.method !== "HEAD") ||
      path === "/v1" ||
      path.startsWith("/v1/")
    )
      return next();
    const file = await readInside(root, path);
    if (file) {
      // Vite names assets by their hash: they never change under the same name.
      const immutable = path.startsWith("/assets/");
      return c.body(new Uint8Array(file.body), 200, {
        ...dashboardSecurityHeaders,
        "content-type": contentTypes[extname(file.path)] ?? "application/octet-stream",
        "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
      });
    }
    // A missing asset is a 404, not the app: a stale tab would otherwise run HTML as script.
    if (path.startsWith("/assets/")) return next();
    const index = await readFile(resolve(root, "index.html"));
    return c.body(new Uint8Array(index), 200, {
      ...dashboardSecurityHeaders,
      "content-type": contentTypes[".html"] as string,
      "cache-control": "no-cache",
    });
  };
}

async function readInside(
  root: string,
  path: string,
): Promise<{ path: string; body: Buffer } | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  const target = resolve(root, `.${decoded}`);
  if (target !== root && !target.startsWith(root + sep)) return undefined;
  if (target === root) return undefined;
  try {
    return { path: target, body: await readFile(target) };
  } catch {
    // Not a file (missing, or a directory): the caller falls back.
    return undefined;
  }
}
