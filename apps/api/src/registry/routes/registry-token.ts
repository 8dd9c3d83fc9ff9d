import { createRoute, z } from "@hono/zod-openapi";
import { issueRegistryToken, type RegistryAction } from "@skiff/registry";
import { registryTokenSchema, scopeAllows, type TokenScope } from "@skiff/shared";
import { findValidToken, touchToken } from "../../auth/services/tokens.js";
import { authenticateNode } from "../../compute/services/nodes.js";
import { ApiError } from "../../lib/errors.js";
import { errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import { repositoriesRunOnNode } from "../services/node-repositories.js";

/** Long enough for a slow push of large layers between two token requests. */
const tokenTtlSeconds = 900;
const basic = /^Basic\s+([A-Za-z0-9+/=]{1,2048})$/i;

const token = createRoute({
  method: "get",
  path: "/v1/registry/token",
  tags: ["registry"],
  summary: "Docker token auth for the built-in registry",
  description:
    "The realm the registry's 401 points docker at. HTTP Basic: any username and a Skiff API " +
    "token as password (`read`: pull; `deploy`/`admin`: pull, push, delete), or a node id and " +
    "its node credential (pull of the repositories of the tasks assigned to that node). Without credentials: pull of repositories open to anonymous pulls.",
  request: {
    query: z.object({
      service: z.string().max(200).optional(),
      scope: z
        .union([z.string().max(2000), z.array(z.string().max(2000)).max(20)])
        .optional()
        .describe("repository:<name>:pull,push; repeatable"),
      account: z.string().max(200).optional(),
    }),
  },
  responses: {
    200: { description: "A registry token", content: jsonContent(registryTokenSchema) },
    ...errorResponses("ValidationError", "Unauthorized"),
  },
});

/** What an API token's scopes allow in the registry. */
function actionsOf(scopes: TokenScope[]): RegistryAction[] {
  return scopeAllows(scopes, "deploy") ? ["pull", "push", "delete"] : ["pull"];
}

export const registryTokenRoutes = newRouter().openapi(token, async (c) => {
  const { db, clock, logger } = c.get("services");
  const scopes = c.req.queries("scope") ?? [];
  const encoded = basic.exec(c.req.header("authorization") ?? "")?.[1];
  let subject = "anonymous";
  let actions: RegistryAction[] | undefined;
  let repositories: Set<string> | undefined;
  if (encoded) {
    const decoded = Buffer.from(encoded, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const username = colon >= 0 ? decoded.slice(0, colon) : decoded;
    const password = colon >= 0 ? decoded.slice(colon + 1) : "";
    const now = clock.now();
    const apiToken = password ? await findValidToken(db, password, now) : undefined;
    if (apiToken) {
      touchToken(db, apiToken, now, logger);
      subject = apiToken.id;
      actions = actionsOf(apiToken.scopes as TokenScope[]);
    } else {
      const node =
        username.startsWith("node_") && password
          ? await authenticateNode(db, username, password)
          : undefined;
      if (!node) {
        c.header("WWW-Authenticate", 'Basic realm="skiff"');
        throw new ApiError(
          "Unauthorized",
          "log in with any username and a Skiff API token as the password",
        );
      }
      subject = node.id;
      actions = ["pull"];
      // Only what the node runs: a node credential is on a host Skiff does not control.
      repositories = await repositoriesRunOnNode(db, node.id);
    }
  }
  const issued = await issueRegistryToken(db, {
    subject,
    scopes,
    actions,
    ...(repositories ? { repositories } : {}),
    ttlSeconds: tokenTtlSeconds,
    now: clock.now(),
  });
  logger.debug({ subject, scopes }, "registry token issued");
  return c.json(issued, 200);
});
