import { z } from "zod";

export const paginationQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional().describe("The nextCursor of the previous page"),
});
export type PaginationQuery = z.infer<typeof paginationQuerySchema>;

/** A page of a list: `nextCursor` is null on the last page. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

/** A page and the cursor of the next, as every list route answers. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
