CREATE TABLE "function_code" (
	"sha256" text PRIMARY KEY NOT NULL,
	"zip" "bytea" NOT NULL,
	"size" bigint NOT NULL,
	"unzipped_size" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "function_dead_letters" (
	"id" text PRIMARY KEY NOT NULL,
	"function_id" text NOT NULL,
	"request_id" text NOT NULL,
	"payload" text NOT NULL,
	"error" text NOT NULL,
	"error_type" text,
	"attempts" integer NOT NULL,
	"enqueued_at" timestamp with time zone NOT NULL,
	"failed_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "function_invocations" (
	"request_id" text PRIMARY KEY NOT NULL,
	"function_id" text NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"error" text,
	"enqueued_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "function_usage" (
	"function_id" text NOT NULL,
	"function_name" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"requests" bigint DEFAULT 0 NOT NULL,
	"errors" bigint DEFAULT 0 NOT NULL,
	"throttles" bigint DEFAULT 0 NOT NULL,
	"billed_mb_ms" bigint DEFAULT 0 NOT NULL,
	"duration_ms" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "function_usage_function_id_hour_pk" PRIMARY KEY("function_id","hour")
);
--> statement-breakpoint
CREATE TABLE "functions" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"runtime" text NOT NULL,
	"handler" text,
	"memory" integer NOT NULL,
	"timeout" integer NOT NULL,
	"environment" jsonb NOT NULL,
	"secrets" jsonb NOT NULL,
	"reserved_concurrency" integer,
	"description" text,
	"max_retry_attempts" integer DEFAULT 2 NOT NULL,
	"max_event_age_seconds" integer DEFAULT 21600 NOT NULL,
	"code_sha256" text,
	"code_size" bigint,
	"image" text,
	"revision" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "functions_name_unique" UNIQUE("name")
);
--> statement-breakpoint
ALTER TABLE "nodes" ADD COLUMN "control_port" integer;--> statement-breakpoint
CREATE INDEX "function_dead_letters_function_idx" ON "function_dead_letters" USING btree ("function_id","failed_at");--> statement-breakpoint
CREATE INDEX "function_invocations_function_idx" ON "function_invocations" USING btree ("function_id","enqueued_at");--> statement-breakpoint
CREATE INDEX "function_usage_hour_idx" ON "function_usage" USING btree ("hour");