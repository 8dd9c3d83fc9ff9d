CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"key_hash" text NOT NULL,
	"prefix" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "api_keys_key_hash_unique" UNIQUE("key_hash")
);
--> statement-breakpoint
CREATE TABLE "usage_plan_keys" (
	"plan_id" text NOT NULL,
	"key_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "usage_plan_keys_plan_id_key_id_pk" PRIMARY KEY("plan_id","key_id")
);
--> statement-breakpoint
CREATE TABLE "usage_plans" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"api_ids" text[] NOT NULL,
	"throttle" jsonb,
	"quota_limit" integer,
	"quota_period" text,
	"quota_offset" integer DEFAULT 0 NOT NULL,
	"quota_set_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "usage_plan_keys" ADD CONSTRAINT "usage_plan_keys_plan_id_usage_plans_id_fk" FOREIGN KEY ("plan_id") REFERENCES "public"."usage_plans"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_plan_keys" ADD CONSTRAINT "usage_plan_keys_key_id_api_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."api_keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "usage_plan_keys_key_id_index" ON "usage_plan_keys" USING btree ("key_id");