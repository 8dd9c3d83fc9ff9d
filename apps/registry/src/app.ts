import { Hono } from "hono";
import { authorize } from "./auth/middleware.js";
import { allows } from "./auth/scope.js";
import type { RegistryContext } from "./context.js";
import { errorBody, RegistryError } from "./errors.js";
import { deleteBlob, getBlob } from "./routes/blobs.js";
import { getCatalog, getReferrers, getTags } from "./routes/listings.js";
import { deleteManifestRoute, getManifest, putManifestRoute } from "./routes/manifests.js";
import { actionFor, matchPath, type Target } from "./routes/paths.js";
import {
  deleteUpload,
  getUploadStatus,
  patchUpload,
  postUpload,
  putUpload,
} from "./routes/uploads.js";
import { findRepository } from "./services/repositories.js";

const unsupported = () =>
  new RegistryError("UNSUPPORTED", "the operation is unsupported", undefined, 405);

/**
 * The OCI Distribution v1.1 API under `/v2/`. Names hold slashes, so one handler parses the
 * path instead of the router; errors use the spec's `{errors:[...]}` body.
 */
export function newRegistryApp(ctx: RegistryContext) {
  const app = new Hono();

  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    // Every answer says it comes from a v2 registry, as the reference's do: clients look for
    // it on `/v2/` (the 401 too). Blob downloads write their own head (routes/blobs.ts).
    c.res.headers.set("Docker-Distribution-API-Version", "registry/2.0");
    ctx.logger.debug?.(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      },
      "registry request",
    );
  });

  app.all("/v2/*", async (c) => {
    const path = new URL(c.req.url).pathname;
    const target = matchPath(path);
    if (!target)
      return c.json(errorBody("NAME_UNKNOWN", `no endpoint at ${path.slice(0, 300)}`), 404);
    const method = c.req.method;
    const granted = await authorize(c, ctx, target, actionFor(method, target));
    if (granted instanceof Response) return granted;
    return dispatch(c, ctx, target, method, async (repository) => {
      if (allows(granted, repository, "pull")) return true;
      return (await findRepository(ctx.db, repository))?.anonymousPull ?? false;
    });
  });

  app.notFound((c) => c.json(errorBody("UNSUPPORTED", "not a registry endpoint"), 404));
  app.onError((error, c) => {
    if (error instanceof RegistryError) {
      return c.json(errorBody(error.code, error.message, error.detail), error.status as 400);
    }
    ctx.logger.error(
      { err: error, method: c.req.method, path: c.req.path },
      "registry request failed",
    );
    return c.json(
      errorBody("UNKNOWN", "internal error; the details are in the registry's log"),
      500,
    );
  });
  return app;
}

function dispatch(
  c: import("hono").Context,
  ctx: RegistryContext,
  target: Target,
  method: string,
  canPull: (repository: string) => Promise<boolean>,
): Promise<Response> | Response {
  const read = method === "GET" || method === "HEAD";
  switch (target.kind) {
    case "base":
      if (!read) throw unsupported();
      return c.json({});
    case "catalog":
      if (method !== "GET") throw unsupported();
      return getCatalog(c, ctx);
    case "invalidName":
      throw new RegistryError(
        "NAME_INVALID",
        `"${target.name.slice(0, 300)}" is not a valid repository name`,
      );
    case "tags":
      if (method !== "GET") throw unsupported();
      return getTags(c, ctx, target.name);
    case "referrers":
      if (method !== "GET") throw unsupported();
      return getReferrers(c, ctx, target.name, target.digest);
    case "manifest":
      if (read) return getManifest(c, ctx, target.name, target.reference);
      if (method === "PUT") return putManifestRoute(c, ctx, target.name, target.reference);
      if (method === "DELETE") return deleteManifestRoute(c, ctx, target.name, target.reference);
      throw unsupported();
    case "blob":
      if (read) return getBlob(c, ctx, target.name, target.digest);
      if (method === "DELETE") return deleteBlob(c, ctx, target.name, target.digest);
      throw unsupported();
    case "uploads":
      if (method === "POST") return postUpload(c, ctx, target.name, canPull);
      throw unsupported();
    case "upload":
      if (method === "GET") return getUploadStatus(c, ctx, target.name, target.id);
      if (method === "PATCH") return patchUpload(c, ctx, target.name, target.id);
      if (method === "PUT") return putUpload(c, ctx, target.name, target.id);
      if (method === "DELETE") return deleteUpload(c, ctx, target.name, target.id);
      throw unsupported();
  }
}
