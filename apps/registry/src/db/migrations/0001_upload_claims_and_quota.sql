ALTER TABLE "registry_repositories" ADD COLUMN "storage_quota_bytes" bigint;--> statement-breakpoint
ALTER TABLE "registry_uploads" ADD COLUMN "claim" text;--> statement-breakpoint
ALTER TABLE "registry_uploads" ADD COLUMN "claimed_until" timestamp with time zone;