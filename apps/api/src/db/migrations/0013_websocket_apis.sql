ALTER TABLE "apis" ADD COLUMN "protocol_type" text DEFAULT 'HTTP' NOT NULL;--> statement-breakpoint
ALTER TABLE "apis" ADD COLUMN "route_selection_expression" text;