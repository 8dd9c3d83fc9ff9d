import { createRoute, z } from "@hono/zod-openapi";
import { functionMetricsQuerySchema, functionMetricsSchema } from "@skiff/shared";
import { authorized } from "../../lib/auth.js";
import { ApiError } from "../../lib/errors.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";

const metrics = createRoute({
  method: "get",
  path: "/v1/functions/{name}/metrics",
  tags: ["functions"],
  summary:
    "A function's invocations, errors, throttles, cold starts, most concurrent executions and duration p50/p99, per minute (all api replicas)",
  ...authorized("read"),
  request: { params: z.object({ name: z.string().max(140) }), query: functionMetricsQuerySchema },
  responses: {
    200: {
      description: "The last `minutes` minutes, oldest first",
      content: jsonContent(functionMetricsSchema),
    },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

export const functionMetricsRoutes = newRouter().openapi(metrics, async (c) => {
  const { functions, clock } = c.get("services");
  const { name } = c.req.valid("param");
  const { minutes } = c.req.valid("query");
  const fn = await functions.directory.get(name);
  if (!fn) throw new ApiError("NotFound", `function ${name} not found`);
  const series = await functions.minutes.series(fn.id, minutes, clock.now().getTime());
  return c.json({ name: fn.name, minutes: series }, 200);
});
