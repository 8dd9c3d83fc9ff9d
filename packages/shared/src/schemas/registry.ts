import { z } from "zod";

/** Where users and nodes push and pull: `docker push <address>/team/app:tag`. */
export const registryInfoSchema = z.object({
  address: z.string().describe("host:port of the built-in registry"),
});
export type RegistryInfo = z.infer<typeof registryInfoSchema>;

export const repositoryLifecycleSchema = z.object({
  keepLastTags: z.number().int().nullable().describe("Keep only the newest N tags"),
  expireUntaggedAfterDays: z
    .number()
    .int()
    .nullable()
    .describe("Delete manifests without a tag after this many days"),
});

export const repositorySchema = z.object({
  name: z.string().describe("Repository name; may hold slashes (team/app)"),
  sizeBytes: z.number().int().describe("Distinct blobs plus manifests"),
  tagCount: z.number().int(),
  lastPushedAt: z.string().nullable(),
  immutableTags: z.boolean(),
  anonymousPull: z.boolean(),
  storageQuotaBytes: z
    .number()
    .int()
    .nullable()
    .describe("Bytes of blobs the repository may hold; pushes beyond are refused. Null: no quota"),
  lifecycle: repositoryLifecycleSchema,
});
export type Repository = z.infer<typeof repositorySchema>;

export const repositoryListSchema = z.object({
  repositories: z.array(repositorySchema),
  nextCursor: z.string().nullable(),
});
export type RepositoryList = z.infer<typeof repositoryListSchema>;

export const updateRepositorySchema = z.strictObject({
  immutableTags: z.boolean().optional(),
  anonymousPull: z.boolean().optional(),
  storageQuotaBytes: z
    .number()
    .int()
    .min(0)
    .max(Number.MAX_SAFE_INTEGER)
    .nullable()
    .optional()
    .describe("Bytes of blobs the repository may hold (null removes the quota)"),
  lifecycle: z
    .strictObject({
      keepLastTags: z.number().int().min(1).max(10_000).nullable().optional(),
      expireUntaggedAfterDays: z.number().int().min(0).max(36_500).nullable().optional(),
    })
    .optional(),
});
export type UpdateRepository = z.infer<typeof updateRepositorySchema>;

export const imageTagSchema = z.object({
  tag: z.string(),
  digest: z.string(),
  mediaType: z.string(),
  sizeBytes: z.number().int().describe("The manifest plus the blobs it names"),
  pushedAt: z.string(),
});
export type ImageTag = z.infer<typeof imageTagSchema>;

export const imageTagListSchema = z.object({ tags: z.array(imageTagSchema) });

/** The Docker token spec's answer of `GET /v1/registry/token`. */
export const registryTokenSchema = z.object({
  token: z.string(),
  access_token: z.string(),
  expires_in: z.number().int(),
  issued_at: z.string(),
});
export type RegistryToken = z.infer<typeof registryTokenSchema>;
