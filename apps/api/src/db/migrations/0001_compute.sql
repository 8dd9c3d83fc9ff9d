CREATE TABLE "nodes" (
	"id" text PRIMARY KEY NOT NULL,
	"pool" text NOT NULL,
	"name" text NOT NULL,
	"state" text NOT NULL,
	"capacity_cpu" integer NOT NULL,
	"capacity_memory" integer NOT NULL,
	"allocated_cpu" integer DEFAULT 0 NOT NULL,
	"allocated_memory" integer DEFAULT 0 NOT NULL,
	"attributes" jsonb NOT NULL,
	"address" text NOT NULL,
	"credential_hash" text NOT NULL,
	"assignments_index" bigint DEFAULT 1 NOT NULL,
	"last_heartbeat_at" timestamp with time zone,
	"registered_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "nodes_credential_hash_unique" UNIQUE("credential_hash")
);
--> statement-breakpoint
CREATE TABLE "pool_join_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"pool" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "pool_join_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "pools" (
	"name" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "task_definitions" (
	"family" text NOT NULL,
	"revision" integer NOT NULL,
	"containers" jsonb NOT NULL,
	"cpu" integer NOT NULL,
	"memory" integer NOT NULL,
	"compatibilities" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "task_definitions_family_revision_pk" PRIMARY KEY("family","revision")
);
--> statement-breakpoint
CREATE TABLE "tasks" (
	"id" text PRIMARY KEY NOT NULL,
	"family" text NOT NULL,
	"revision" integer NOT NULL,
	"status" text NOT NULL,
	"desired_status" text NOT NULL,
	"launch_type" text NOT NULL,
	"pool" text NOT NULL,
	"node_id" text,
	"service" text,
	"cpu" integer NOT NULL,
	"memory" integer NOT NULL,
	"host_ports" integer[] NOT NULL,
	"placement" jsonb NOT NULL,
	"containers" jsonb NOT NULL,
	"pending_reason" text,
	"stop_code" text,
	"stopped_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"stopped_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "nodes" ADD CONSTRAINT "nodes_pool_pools_name_fk" FOREIGN KEY ("pool") REFERENCES "public"."pools"("name") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pool_join_tokens" ADD CONSTRAINT "pool_join_tokens_pool_pools_name_fk" FOREIGN KEY ("pool") REFERENCES "public"."pools"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "nodes_pool_state_idx" ON "nodes" USING btree ("pool","state");--> statement-breakpoint
CREATE INDEX "pool_join_tokens_pool_idx" ON "pool_join_tokens" USING btree ("pool");--> statement-breakpoint
CREATE INDEX "tasks_node_status_idx" ON "tasks" USING btree ("node_id","status");--> statement-breakpoint
CREATE INDEX "tasks_status_idx" ON "tasks" USING btree ("status");--> statement-breakpoint
CREATE INDEX "tasks_service_idx" ON "tasks" USING btree ("service");--> statement-breakpoint
INSERT INTO "pools" ("name") VALUES ('default') ON CONFLICT DO NOTHING;
