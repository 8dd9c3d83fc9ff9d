import { createRoute, z } from "@hono/zod-openapi";
import { usageQuerySchema, usageSchema } from "@skiff/shared";
import { gatewayPrometheus } from "../../gateway/observe/prometheus.js";
import { authorized } from "../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import { meterFunctions } from "../services/function-usage.js";
import { meterTotals, meterUsage, startOfMonth, toPrometheus } from "../services/usage.js";

const usage = createRoute({
  method: "get",
  path: "/v1/usage",
  tags: ["usage"],
  summary:
    "Metered task time (vCPU-seconds, GB-seconds) and its cost over [from, to), by service or task; per second with a one-minute minimum, like Fargate. groupBy=function: functions' requests and GB-seconds at Lambda's prices after the monthly free tier",
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
  summary:
    "Prometheus counters of metered task time and cost, per service and launch type, and functions' invocations, errors, throttles, cold starts, concurrency and duration, and API requests through the gateway (per API and route: requests, 4xx, 5xx, throttled, latency and integration latency)",
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
    const from = query.from ? new Date(query.from) : startOfMonth(now);
    const to = query.to ? new Date(query.to) : now;
    if (query.groupBy === "function")
      return c.json(await meterFunctions(db, { from, to }, settings.prices.functions), 200);
    return c.json(
      await meterUsage(db, { from, to, groupBy: query.groupBy }, now, settings.prices),
      200,
    );
  })
  .openapi(metrics, async (c) => {
    const { db, clock, settings, functions, redis } = c.get("services");
    const now = clock.now();
    const text =
      toPrometheus(await meterTotals(db, now, settings.prices)) +
      functions.metrics.toPrometheus() +
      (await gatewayPrometheus(redis, db));
    return c.text(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
