import { z } from "zod";

/** GET /v1/registry: where `docker login` and `docker push` reach the built-in registry. */
export const registryInfoSchema = z.object({ address: z.string() });
export type RegistryInfo = z.infer<typeof registryInfoSchema>;

export const lifecycleSchema = z.object({
  /** Keep only this many of the newest tags; all when null. */
  keepLastTags: z.number().int().nullable(),
  /** Delete untagged manifests older than this; never when null. */
  expireUntaggedAfterDays: z.number().int().nullable(),
});
export type Lifecycle = z.infer<typeof lifecycleSchema>;

export const repositorySchema = z.object({
  /** May contain `/` (`team/web`): URL-encode it in paths. */
  name: z.string(),
  sizeBytes: z.number(),
  tagCount: z.number(),
  lastPushedAt: z.string().nullable(),
  immutableTags: z.boolean(),
  anonymousPull: z.boolean(),
  lifecycle: lifecycleSchema,
});
export type Repository = z.infer<typeof repositorySchema>;

export const repositoryPageSchema = z.object({
  repositories: z.array(repositorySchema),
  nextCursor: z.string().nullable(),
});

/** PATCH /v1/registry/repositories/{name} */
export interface UpdateRepository {
  immutableTags?: boolean;
  anonymousPull?: boolean;
  lifecycle?: { keepLastTags?: number | null; expireUntaggedAfterDays?: number | null };
}

export const imageTagSchema = z.object({
  tag: z.string(),
  digest: z.string(),
  mediaType: z.string(),
  sizeBytes: z.number(),
  pushedAt: z.string(),
});
export type ImageTag = z.infer<typeof imageTagSchema>;

export const imageTagsSchema = z.object({ tags: z.array(imageTagSchema) });
