import { z } from "zod";

/**
 * An API key's value as API Gateway takes it: 20 to 128 characters; printable ASCII without
 * spaces, since it travels in the `x-api-key` header.
 */
export const apiKeyValueSchema = z
  .string()
  .regex(/^[\x21-\x7e]{20,128}$/, "must be 20-128 printable ASCII characters without spaces");

const apiKeyNameSchema = z.string().trim().min(1).max(128);

export const createApiKeySchema = z.strictObject({
  name: apiKeyNameSchema,
  enabled: z.boolean().optional().describe("Defaults to true"),
  value: apiKeyValueSchema
    .optional()
    .describe("The key's value; 40 random characters are generated when unset"),
});
export type CreateApiKey = z.infer<typeof createApiKeySchema>;

export const updateApiKeySchema = z
  .strictObject({ name: apiKeyNameSchema.optional(), enabled: z.boolean().optional() })
  .refine((body) => body.name !== undefined || body.enabled !== undefined, {
    message: "give name or enabled",
  });
export type UpdateApiKey = z.infer<typeof updateApiKeySchema>;

/** An API key as answers show it: never its value (only its first characters). */
export const apiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  enabled: z.boolean(),
  prefix: z.string().describe("The value's first characters, to recognise the key"),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ApiKey = z.infer<typeof apiKeySchema>;

/** The answer to a create: the only one that ever holds the value. */
export const createdApiKeySchema = apiKeySchema.extend({
  value: z.string().describe("Shown once: stored hashed, never retrievable again"),
});
export type CreatedApiKey = z.infer<typeof createdApiKeySchema>;
