import { bigint, index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { pools } from "./pools.js";

/**
 * Hosts running an agent. `allocated*` is the sum of the tasks placed on the node and not yet
 * stopped; the scheduler changes it only while holding the node's row lock.
 */
export const nodes = pgTable(
  "nodes",
  {
    id: text("id").primaryKey(),
    pool: text("pool")
      .notNull()
      .references(() => pools.name),
    name: text("name").notNull(),
    state: text("state", { enum: ["active", "draining", "down"] }).notNull(),
    capacityCpu: integer("capacity_cpu").notNull(),
    capacityMemory: integer("capacity_memory").notNull(),
    allocatedCpu: integer("allocated_cpu").notNull().default(0),
    allocatedMemory: integer("allocated_memory").notNull().default(0),
    attributes: jsonb("attributes").$type<Record<string, string>>().notNull(),
    address: text("address").notNull(),
    /** The agent's control port (function instances), reached at `address`; null: no functions. */
    controlPort: integer("control_port"),
    credentialHash: text("credential_hash").notNull().unique(),
    /** Bumped whenever the node's assignments change; agents long-poll on it. */
    assignmentsIndex: bigint("assignments_index", { mode: "number" }).notNull().default(1),
    lastHeartbeatAt: timestamp("last_heartbeat_at", { withTimezone: true }),
    registeredAt: timestamp("registered_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index("nodes_pool_state_idx").on(table.pool, table.state)],
);
