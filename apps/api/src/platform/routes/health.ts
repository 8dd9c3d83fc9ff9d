import { createRoute } from "@hono/zod-openapi";
import { healthSchema } from "@skiff/shared";
import { errorResponse } from "../../lib/error-body.js";
import { errorResponses, newRouter } from "../../lib/openapi.js";

const health = createRoute({
  method: "get",
  path: "/v1/health",
  tags: ["system"],
  summary: "Whether this replica and the database and Redis behind it answer",
  responses: {
    200: { description: "Ready", content: { "application/json": { schema: healthSchema } } },
    ...errorResponses("ServiceUnavailable"),
  },
});

export const healthRoutes = newRouter().openapi(health, async (c) => {
  try {
    await c.get("services").ping();
  } catch (error) {
    c.get("services").logger.warn({ err: error }, "health check failed");
    return errorResponse(c, "ServiceUnavailable", "the database or Redis does not answer") as never;
  }
  return c.json({ status: "ok" as const }, 200);
});
