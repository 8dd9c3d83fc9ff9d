import type { ContainerDefinition } from "@skiff/shared";
import { integer, jsonb, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/** Immutable revisions of a family: a change is a new revision. */
export const taskDefinitions = pgTable(
  "task_definitions",
  {
    family: text("family").notNull(),
    revision: integer("revision").notNull(),
    containers: jsonb("containers").$type<ContainerDefinition[]>().notNull(),
    cpu: integer("cpu").notNull(),
    memory: integer("memory").notNull(),
    compatibilities: text("compatibilities").array().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.family, table.revision] })],
);
