CREATE TABLE "service_deployments" (
	"id" text PRIMARY KEY NOT NULL,
	"service" text NOT NULL,
	"family" text NOT NULL,
	"revision" integer NOT NULL,
	"status" text NOT NULL,
	"rollout_state" text NOT NULL,
	"rollout_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "service_events" (
	"id" text PRIMARY KEY NOT NULL,
	"service" text NOT NULL,
	"message" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "services" (
	"name" text PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"desired_count" integer NOT NULL,
	"launch_type" text NOT NULL,
	"pool" text NOT NULL,
	"deployment_config" jsonb NOT NULL,
	"placement" jsonb NOT NULL,
	"load_balancer" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "service_deployments" ADD CONSTRAINT "service_deployments_service_services_name_fk" FOREIGN KEY ("service") REFERENCES "public"."services"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service_events" ADD CONSTRAINT "service_events_service_services_name_fk" FOREIGN KEY ("service") REFERENCES "public"."services"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "service_deployments_service_idx" ON "service_deployments" USING btree ("service");--> statement-breakpoint
CREATE INDEX "service_events_service_idx" ON "service_events" USING btree ("service","id");