CREATE TABLE "task_usage" (
	"task_id" text PRIMARY KEY NOT NULL,
	"service" text,
	"family" text NOT NULL,
	"launch_type" text NOT NULL,
	"cpu" integer NOT NULL,
	"memory" integer NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"stopped_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_totals" (
	"key" text NOT NULL,
	"launch_type" text NOT NULL,
	"vcpu_seconds" double precision NOT NULL,
	"gb_seconds" double precision NOT NULL,
	CONSTRAINT "usage_totals_key_launch_type_pk" PRIMARY KEY("key","launch_type")
);
--> statement-breakpoint
CREATE INDEX "task_usage_started_at_idx" ON "task_usage" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "task_usage_stopped_at_idx" ON "task_usage" USING btree ("stopped_at");--> statement-breakpoint
CREATE INDEX "tasks_service_status_idx" ON "tasks" USING btree ("service","status");--> statement-breakpoint
CREATE INDEX "tasks_stopped_at_idx" ON "tasks" USING btree ("stopped_at") WHERE "tasks"."status" = 'stopped';