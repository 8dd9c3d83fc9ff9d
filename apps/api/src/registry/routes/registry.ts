import { createRoute, z } from "@hono/zod-openapi";
import {
  deleteReference,
  getRepository,
  isValidName,
  isValidTag,
  listRepositories,
  listTags,
  updateRepository,
} from "@skiff/registry";
import {
  imageTagListSchema,
  paginationQuerySchema,
  registryInfoSchema,
  repositoryListSchema,
  repositorySchema,
  updateRepositorySchema,
} from "@skiff/shared";
import { authorized } from "../../lib/auth.js";
import { notFound } from "../../lib/errors.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";

const repositoryName = z
  .string()
  .max(255)
  .refine(isValidName, "not a repository name (lower-case components separated by /)")
  .describe("URL-encoded when it holds slashes: team%2Fapp");
const nameParams = z.object({ name: repositoryName });

const info = createRoute({
  method: "get",
  path: "/v1/registry",
  tags: ["registry"],
  summary: "The built-in registry's address, to push and pull with",
  ...authorized("read"),
  responses: {
    200: { description: "The registry", content: jsonContent(registryInfoSchema) },
    ...errorResponses(...authErrors),
  },
});

const list = createRoute({
  method: "get",
  path: "/v1/registry/repositories",
  tags: ["registry"],
  summary: "List repositories with their size, tag count and last push",
  ...authorized("read"),
  request: { query: paginationQuerySchema },
  responses: {
    200: { description: "A page of repositories", content: jsonContent(repositoryListSchema) },
    ...errorResponses("ValidationError", ...authErrors),
  },
});

const get = createRoute({
  method: "get",
  path: "/v1/registry/repositories/{name}",
  tags: ["registry"],
  summary: "One repository",
  ...authorized("read"),
  request: { params: nameParams },
  responses: {
    200: { description: "The repository", content: jsonContent(repositorySchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const update = createRoute({
  method: "patch",
  path: "/v1/registry/repositories/{name}",
  tags: ["registry"],
  summary: "Change tag immutability, anonymous pulls and lifecycle rules",
  ...authorized("admin"),
  request: {
    params: nameParams,
    body: { required: true, content: jsonContent(updateRepositorySchema) },
  },
  responses: {
    200: { description: "The repository", content: jsonContent(repositorySchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const tags = createRoute({
  method: "get",
  path: "/v1/registry/repositories/{name}/tags",
  tags: ["registry"],
  summary: "Tags of a repository with digests and sizes, newest first",
  ...authorized("read"),
  request: { params: nameParams },
  responses: {
    200: { description: "The tags", content: jsonContent(imageTagListSchema) },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const deleteTag = createRoute({
  method: "delete",
  path: "/v1/registry/repositories/{name}/tags/{tag}",
  tags: ["registry"],
  summary: "Delete a tag (the manifest stays until lifecycle rules or a manifest delete)",
  ...authorized("deploy"),
  request: {
    params: nameParams.extend({ tag: z.string().max(128).refine(isValidTag, "not a tag") }),
  },
  responses: {
    204: { description: "Deleted" },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

const deleteManifest = createRoute({
  method: "delete",
  path: "/v1/registry/repositories/{name}/manifests/{digest}",
  tags: ["registry"],
  summary: "Delete a manifest and the tags naming it; unused blobs are collected later",
  ...authorized("deploy"),
  request: {
    params: nameParams.extend({
      digest: z.string().regex(/^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/, "not a digest"),
    }),
  },
  responses: {
    204: { description: "Deleted" },
    ...errorResponses("ValidationError", "NotFound", ...authErrors),
  },
});

export const registryRoutes = newRouter()
  .openapi(info, (c) => c.json({ address: c.get("services").settings.registryAddress }, 200))
  .openapi(list, async (c) =>
    c.json(await listRepositories(c.get("services").db, c.req.valid("query")), 200),
  )
  .openapi(get, async (c) => {
    const { name } = c.req.valid("param");
    const repository = await getRepository(c.get("services").db, name);
    if (!repository) throw notFound(`repository ${name}`);
    return c.json(repository, 200);
  })
  .openapi(update, async (c) => {
    const { name } = c.req.valid("param");
    const repository = await updateRepository(c.get("services").db, name, c.req.valid("json"));
    if (!repository) throw notFound(`repository ${name}`);
    c.get("services").logger.info(
      { repository: name, by: c.get("caller").tokenId },
      "repository settings changed",
    );
    return c.json(repository, 200);
  })
  .openapi(tags, async (c) => {
    const { name } = c.req.valid("param");
    const { db } = c.get("services");
    if (!(await getRepository(db, name))) throw notFound(`repository ${name}`);
    return c.json({ tags: await listTags(db, name) }, 200);
  })
  .openapi(deleteTag, async (c) => {
    const { name, tag } = c.req.valid("param");
    if (!(await deleteReference(c.get("services").db, name, tag))) {
      throw notFound(`tag ${tag} of repository ${name}`);
    }
    return c.body(null, 204);
  })
  .openapi(deleteManifest, async (c) => {
    const { name, digest } = c.req.valid("param");
    if (!(await deleteReference(c.get("services").db, name, digest))) {
      throw notFound(`manifest ${digest} of repository ${name}`);
    }
    return c.body(null, 204);
  });
