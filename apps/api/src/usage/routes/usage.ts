import { createRoute, z } from "@hono/zod-openapi";
import { usageQuerySchema, usageSchema } from "@skiff/shared";
import { authorized } from "../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import { meterTotals, meterUsage, startOfMonth, toPrometheus } from "../services/usage.js";

const usage = createRoute({
  method: "get",
  path: "/v1/usage",
  tags: ["usage"],
  summary:
    "Metered task time (vCPU-seconds, GB-seconds) and its cost over [from, to), by service or task; per second with a one-minute minimum, like Fargate",
  ...authorized("read"),
  request: { query: usageQuerySchema },
  responses: {
    200: { description: "Usage", content: jsonContent(usageSchema) },
    ...errorResponses("ValidationError", ...authErrors),
  },
});

const metrics = createRoute({
  method: "get",
  path: "/v1/metrics",
  tags: ["usage"],
  summary: "Prometheus counters of metered task time and cost, per service and launch type",
  ...authorized("read"),
  responses: {
    200: {
      description: "Prometheus text exposition format 0.0.4",
      content: { "text/plain": { schema: z.string() } },
    },
    ...errorResponses(...authErrors),
  },
});

export const usageRoutes = newRouter()
  .openapi(usage, async (c) => {
    const { db, clock, settings } = c.get("services");
    const query = c.req.valid("query");
    const now = clock.now();
    const window = {
      from: query.from ? new Date(query.from) : startOfMonth(now),
      to: query.to ? new Date(query.to) : now,
      groupBy: query.groupBy,
    };
    return c.json(await meterUsage(db, window, now, settings.prices), 200);
  })
  .openapi(metrics, async (c) => {
    const { db, clock, settings } = c.get("services");
    const now = clock.now();
    const text = toPrometheus(await meterTotals(db, now, settings.prices));
    return c.text(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
