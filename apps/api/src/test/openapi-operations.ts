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
  /** Names of the path parameters, in order. */
  pathParams: string[];
  /** Names of the query parameters. */
  queryParams: string[];
  /** The JSON body schema, with `$ref`s to components resolved; undefined without a body. */
  bodySchema: JsonSchema | undefined;
}

/** The parts of a JSON schema the walks below read. */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  minimum?: number;
  minItems?: number;
  format?: string;
}

interface OpenApiOperation {
  security?: unknown[];
  "x-skiff-scope"?: TokenScope;
  "x-skiff-auth"?: "node";
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  parameters?: { name: string; in: string }[];
}

/** Every operation the app's OpenAPI document lists. */
export async function listOperations(app: App): Promise<Operation[]> {
  const doc = (await (await app.request("/v1/openapi.json")).json()) as {
    paths: Record<string, Record<string, OpenApiOperation>>;
    components?: { schemas?: Record<string, JsonSchema> };
  };
  const components = doc.components?.schemas ?? {};
  // Inlines every `$ref` (schemas here are trees, but depth bounds a cycle all the same).
  const resolve = (schema: JsonSchema | undefined, depth = 0): JsonSchema | undefined => {
    if (!schema || depth > 20) return schema;
    if (schema.$ref)
      return resolve(components[schema.$ref.replace("#/components/schemas/", "")], depth + 1);
    const inner = (list?: JsonSchema[]) => list?.map((item) => resolve(item, depth + 1) ?? item);
    return {
      ...schema,
      properties: schema.properties
        ? Object.fromEntries(
            Object.entries(schema.properties).map(([k, v]) => [k, resolve(v, depth + 1) ?? v]),
          )
        : undefined,
      items: resolve(schema.items, depth + 1),
      anyOf: inner(schema.anyOf),
      oneOf: inner(schema.oneOf),
      allOf: inner(schema.allOf),
    };
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
        pathParams: (operation.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name),
        queryParams: (operation.parameters ?? [])
          .filter((p) => p.in === "query")
          .map((p) => p.name),
        bodySchema: resolve(operation.requestBody?.content?.["application/json"]?.schema),
      });
    }
  }
  return operations;
}

/**
 * A body shaped like `schema` (every field, the first choice of every union) whose
 * strings are all `text`: it gets past the type checks far enough to reach the field checks.
 */
export function sampleBody(s: JsonSchema | undefined, text: string): unknown {
  if (!s) return text;
  if (s.const !== undefined) return s.const;
  if (s.enum?.length) return s.enum[0];
  const choice = s.anyOf?.[0] ?? s.oneOf?.[0] ?? s.allOf?.[0];
  if (choice) return sampleBody(choice, text);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  switch (type) {
    case "object": {
      const body: Record<string, unknown> = {};
      for (const [name, property] of Object.entries(s.properties ?? {}))
        body[name] = sampleBody(property, text);
      return body;
    }
    case "array":
      return [sampleBody(s.items, text)];
    case "integer":
    case "number":
      return Math.max(s.minimum ?? 1, 1);
    case "boolean":
      return true;
    default:
      return text;
  }
}
