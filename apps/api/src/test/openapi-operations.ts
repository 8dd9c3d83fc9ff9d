import type { TokenScope } from "@skiff/shared";
import type { App } from "../app.js";

export interface Operation {
  method: string;
  /** The path with `{params}` filled in. */
  path: string;
  template: string;
  scope: TokenScope | undefined;
  /** Agent routes take a node credential instead of an API token. */
  nodeAuth: boolean;
  secured: boolean;
  hasBody: boolean;
}

interface OpenApiOperation {
  security?: unknown[];
  "x-skiff-scope"?: TokenScope;
  "x-skiff-auth"?: "node";
  requestBody?: unknown;
}

/** Every operation the app's OpenAPI document lists. */
export async function listOperations(app: App): Promise<Operation[]> {
  const doc = (await (await app.request("/v1/openapi.json")).json()) as {
    paths: Record<string, Record<string, OpenApiOperation>>;
  };
  const operations: Operation[] = [];
  for (const [template, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      operations.push({
        method: method.toUpperCase(),
        path: template.replace(/\{[^}]+\}/g, "doesnotexist"),
        template,
        scope: operation["x-skiff-scope"],
        nodeAuth: operation["x-skiff-auth"] === "node",
        secured: (operation.security?.length ?? 0) > 0,
        hasBody: operation.requestBody !== undefined,
      });
    }
  }
  return operations;
}
