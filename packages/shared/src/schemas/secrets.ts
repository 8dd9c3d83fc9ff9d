import { z } from "zod";

/**
 * Names of secrets: letters (either case), digits, '-', '_' and '.', so `DB_PASSWORD` reads as
 * it does in Secrets Manager; no '/', as the name is one path segment of /v1/secrets/{name}.
 */
export const secretNamePattern = /^[A-Za-z0-9][A-Za-z0-9-_.]{0,127}$/;

export const secretNameSchema = z
  .string()
  .regex(
    secretNamePattern,
    "must be 1-128 characters of letters, digits, '-', '_' or '.', starting with a letter or digit",
  );

/** Secrets Manager's limit: 64 KiB of secret text. */
const secretValueSchema = z.string().min(1).max(65_536);

export const createSecretSchema = z.strictObject({
  name: secretNameSchema,
  value: secretValueSchema.describe("Write-only: stored encrypted, never returned"),
  description: z.string().max(1024).optional(),
});
export type CreateSecret = z.infer<typeof createSecretSchema>;

/** PUT or PATCH /v1/secrets/{name}: a new version of the value. */
export const updateSecretSchema = z.strictObject({
  value: secretValueSchema.describe("Write-only: stored encrypted, never returned"),
  description: z.string().max(1024).optional(),
});
export type UpdateSecret = z.infer<typeof updateSecretSchema>;

/** A secret as every answer shows it: never its value. */
export const secretSchema = z.object({
  name: z.string(),
  description: z.string().nullable(),
  version: z.number().int().describe("1 at creation, one more with each new value"),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Secret = z.infer<typeof secretSchema>;

export const deleteSecretQuerySchema = z.strictObject({
  force: z
    .enum(["true", "false"])
    .optional()
    .transform((value) => value === "true")
    .describe(
      "Delete even while task definition revisions reference the secret; their new tasks then fail to start",
    ),
});

/**
 * A container's secret, as ECS has them: the environment variable `name` gets the value of the
 * Skiff secret `valueFrom` when the task starts, delivered only to the node that runs it.
 */
export const containerSecretSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,255}$/, "must be a valid environment variable name"),
  valueFrom: secretNameSchema,
});
export type ContainerSecret = z.infer<typeof containerSecretSchema>;
