ALTER TABLE "pool_join_tokens" ADD COLUMN "max_uses" integer;--> statement-breakpoint
ALTER TABLE "pool_join_tokens" ADD COLUMN "uses" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "pool_join_tokens" ADD COLUMN "revoked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "pool_join_tokens" ADD COLUMN "prefix" text;