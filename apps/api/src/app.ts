import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { tokenRoutes } from "./auth/routes/tokens.js";
import { agentRoutes } from "./compute/routes/agent.js";
import { nodeRoutes } from "./compute/routes/nodes.js";
import { poolRoutes } from "./compute/routes/pools.js";
import { serviceRoutes } from "./compute/routes/services.js";
import { statsRoutes } from "./compute/routes/stats.js";
import { taskDefinitionRoutes } from "./compute/routes/task-definitions.js";
import { taskLogRoutes } from "./compute/routes/task-logs.js";
import { taskRoutes } from "./compute/routes/tasks.js";
import { functionAgentRoutes } from "./functions/routes/function-agent.js";
import { functionEventRoutes } from "./functions/routes/function-events.js";
import { functionLogRoutes } from "./functions/routes/function-logs.js";
import { functionMetricsRoutes } from "./functions/routes/function-metrics.js";
import { functionCodePath, functionRoutes } from "./functions/routes/functions.js";
import { invokeRoutes } from "./functions/routes/invoke.js";
import { apiRouteRoutes } from "./gateway/apis/routes/api-routes.js";
import { apiRoutes } from "./gateway/apis/routes/apis.js";
import { domainNameRoutes } from "./gateway/apis/routes/domain-names.js";
import { functionUrlRoutes } from "./gateway/apis/routes/function-urls.js";
import { authorizerRoutes } from "./gateway/authorizers/routes/authorizers.js";
import { apiKeyRoutes } from "./gateway/keys/routes/api-keys.js";
import { usagePlanKeyRoutes } from "./gateway/keys/routes/usage-plan-keys.js";
import { usagePlanRoutes } from "./gateway/keys/routes/usage-plans.js";
import { connectionRoutes } from "./gateway/websockets/routes/connections.js";
import { dashboardHandler } from "./lib/dashboard.js";
import { codeForStatus, errorResponse } from "./lib/error-body.js";
import { ApiError } from "./lib/errors.js";
import type { AppEnv } from "./lib/hono-env.js";
import { refuseNul } from "./lib/nul-guard.js";
import { requestIdOf } from "./lib/request-id.js";
import { healthRoutes } from "./platform/routes/health.js";
import { infoRoutes } from "./platform/routes/info.js";
import { registryRoutes } from "./registry/routes/registry.js";
import { registryTokenRoutes } from "./registry/routes/registry-token.js";
import { secretRoutes } from "./secrets/routes/secrets.js";
import type { Services } from "./services.js";
import { usageRoutes } from "./usage/routes/usage.js";

export interface AppOptions {
  /** Largest request body accepted, in bytes. */
  maxBodyBytes?: number;
  /** A built dashboard to serve at `/`; none when unset or when it holds no index.html. */
  dashboardDir?: string;
}

/** The REST API over `services`: every route, the OpenAPI document, errors and request logs. */
export function newApp(services: Services, options: AppOptions = {}) {
  const app = new OpenAPIHono<AppEnv>();
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;

  app.use(async (c, next) => {
    const requestId = requestIdOf(c.req.header("x-request-id"));
    c.set("requestId", requestId);
    c.set("services", services);
    const started = performance.now();
    await next();
    c.header("x-request-id", requestId);
    services.logger.info(
      {
        requestId,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      },
      "request",
    );
  });

  const limitBody = bodyLimit({
    maxSize: maxBodyBytes,
    onError: (c) =>
      errorResponse(c, "PayloadTooLarge", `the request body is larger than ${maxBodyBytes} bytes`),
  });
  // Lambda's routes take payloads up to 6 MB of the caller's JSON, never stored as text, and a
  // function's zip (up to 50 MB) is not JSON: those routes check their own limits.
  const lambdaPath = (path: string) => path.startsWith("/2015-03-31/");
  const zipUpload = (c: { req: { method: string; path: string } }) =>
    c.req.method === "PUT" && functionCodePath.test(c.req.path);
  app.use((c, next) => (lambdaPath(c.req.path) || zipUpload(c) ? next() : limitBody(c, next)));
  app.use((c, next) => (lambdaPath(c.req.path) ? next() : refuseNul(c, next)));

  app.route("/", healthRoutes);
  app.route("/", infoRoutes);
  app.route("/", tokenRoutes);
  app.route("/", poolRoutes);
  app.route("/", nodeRoutes);
  app.route("/", agentRoutes);
  app.route("/", taskDefinitionRoutes);
  app.route("/", taskRoutes);
  app.route("/", taskLogRoutes);
  app.route("/", serviceRoutes);
  app.route("/", statsRoutes);
  app.route("/", usageRoutes);
  app.route("/", registryTokenRoutes);
  app.route("/", registryRoutes);
  app.route("/", secretRoutes);
  app.route("/", functionRoutes);
  app.route("/", functionAgentRoutes);
  app.route("/", functionLogRoutes);
  app.route("/", functionEventRoutes);
  app.route("/", invokeRoutes);
  app.route("/", functionMetricsRoutes);
  app.route("/", functionUrlRoutes);
  app.route("/", apiRoutes);
  app.route("/", apiRouteRoutes);
  app.route("/", domainNameRoutes);
  app.route("/", authorizerRoutes);
  app.route("/", apiKeyRoutes);
  app.route("/", usagePlanRoutes);
  app.route("/", usagePlanKeyRoutes);
  app.route("/", connectionRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "A Skiff API token (`skf_...`)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "nodeCredential", {
    type: "http",
    scheme: "bearer",
    description: "A node's credential (`skn_...`), issued to its agent at registration",
  });
  app.doc31("/v1/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Skiff API",
      version: "1",
      description:
        "Self-hosted container platform. Errors share one body: {error:{code,message,requestId}}.",
    },
  });

  const dashboard = options.dashboardDir ? dashboardHandler(options.dashboardDir) : undefined;
  if (dashboard) app.get("*", dashboard);

  app.notFound((c) => errorResponse(c, "NotFound", `no route ${c.req.method} ${c.req.path}`));
  app.onError((error, c) => {
    if (error instanceof ApiError) return errorResponse(c, error.code, error.message);
    if (error instanceof HTTPException) {
      const code = codeForStatus(error.status);
      if (code === "UnsupportedMediaType")
        return errorResponse(c, code, "send the body as application/json");
      return errorResponse(c, code, error.status >= 500 ? "internal error" : error.message);
    }
    // A bug or an outage: the details go to the log under the request id, never to the client.
    services.logger.error({ err: error, requestId: c.get("requestId") }, "unhandled error");
    return errorResponse(
      c,
      "Internal",
      "internal error; the request id finds the details in the server log",
    );
  });

  return app;
}

export type App = ReturnType<typeof newApp>;
