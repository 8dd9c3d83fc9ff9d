import { index, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { registryRepositories } from "./repositories.js";

export const registryTags = pgTable(
  "registry_tags",
  {
    repository: text("repository")
      .notNull()
      .references(() => registryRepositories.name, { onDelete: "cascade" }),
    tag: text("tag").notNull(),
    digest: text("digest").notNull(),
    pushedAt: timestamp("pushed_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.repository, table.tag] }),
    index("registry_tags_digest_idx").on(table.repository, table.digest),
  ],
);
