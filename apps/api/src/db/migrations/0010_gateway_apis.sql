CREATE TABLE "api_routes" (
	"id" text PRIMARY KEY NOT NULL,
	"api_id" text NOT NULL,
	"route_key" text NOT NULL,
	"target" jsonb NOT NULL,
	"api_key_required" boolean DEFAULT false NOT NULL,
	"throttle" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "api_routes_api_route_key_unique" UNIQUE("api_id","route_key")
);
--> statement-breakpoint
CREATE TABLE "apis" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"cors" jsonb,
	"throttle" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "apis_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "domain_names" (
	"hostname" text PRIMARY KEY NOT NULL,
	"api_id" text,
	"service" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "function_urls" (
	"function_id" text PRIMARY KEY NOT NULL,
	"auth_type" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_routes" ADD CONSTRAINT "api_routes_api_id_apis_id_fk" FOREIGN KEY ("api_id") REFERENCES "public"."apis"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "domain_names" ADD CONSTRAINT "domain_names_api_id_apis_id_fk" FOREIGN KEY ("api_id") REFERENCES "public"."apis"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "function_urls" ADD CONSTRAINT "function_urls_function_id_functions_id_fk" FOREIGN KEY ("function_id") REFERENCES "public"."functions"("id") ON DELETE cascade ON UPDATE no action;