CREATE TABLE "api_authorizers" (
	"id" text PRIMARY KEY NOT NULL,
	"api_id" text NOT NULL,
	"name" text NOT NULL,
	"type" text NOT NULL,
	"identity_source" jsonb NOT NULL,
	"jwt" jsonb,
	"function" text,
	"result_ttl_in_seconds" integer,
	"payload_format_version" text,
	"enable_simple_responses" boolean,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "api_authorizers_api_name_unique" UNIQUE("api_id","name")
);
--> statement-breakpoint
ALTER TABLE "api_routes" ADD COLUMN "authorization_type" text DEFAULT 'NONE' NOT NULL;--> statement-breakpoint
ALTER TABLE "api_routes" ADD COLUMN "authorizer_id" text;--> statement-breakpoint
ALTER TABLE "api_routes" ADD COLUMN "authorization_scopes" jsonb;--> statement-breakpoint
ALTER TABLE "api_authorizers" ADD CONSTRAINT "api_authorizers_api_id_apis_id_fk" FOREIGN KEY ("api_id") REFERENCES "public"."apis"("id") ON DELETE cascade ON UPDATE no action;