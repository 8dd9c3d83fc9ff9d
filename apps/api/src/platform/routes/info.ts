import { createRoute } from "@hono/zod-openapi";
import { platformInfoSchema } from "@skiff/shared";
import { authorized } from "../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";

const info = createRoute({
  method: "get",
  path: "/v1/info",
  tags: ["system"],
  summary: "The platform's domain, gateway URL template, registry address, version and features",
  description:
    "What a client needs to show real addresses (a service's gateway URL, the registry to push " +
    "to) instead of guessing them from its own host.",
  ...authorized("read"),
  responses: {
    200: { description: "The platform", content: jsonContent(platformInfoSchema) },
    ...errorResponses(...authErrors),
  },
});

export const infoRoutes = newRouter().openapi(info, (c) => {
  const { platform, registryAddress } = c.get("services").settings;
  return c.json({ ...platform, registryAddress }, 200);
});
