CREATE TABLE "registry_blob_links" (
	"repository" text NOT NULL,
	"digest" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "registry_blob_links_repository_digest_pk" PRIMARY KEY("repository","digest")
);
--> statement-breakpoint
CREATE TABLE "registry_blobs" (
	"digest" text PRIMARY KEY NOT NULL,
	"size" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"touched_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "registry_manifest_references" (
	"repository" text NOT NULL,
	"manifest" text NOT NULL,
	"digest" text NOT NULL,
	"kind" text NOT NULL,
	CONSTRAINT "registry_manifest_references_repository_manifest_digest_pk" PRIMARY KEY("repository","manifest","digest")
);
--> statement-breakpoint
CREATE TABLE "registry_manifests" (
	"repository" text NOT NULL,
	"digest" text NOT NULL,
	"media_type" text NOT NULL,
	"size" bigint NOT NULL,
	"content" "bytea" NOT NULL,
	"subject" text,
	"artifact_type" text,
	"annotations" text,
	"pushed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "registry_manifests_repository_digest_pk" PRIMARY KEY("repository","digest")
);
--> statement-breakpoint
CREATE TABLE "registry_repositories" (
	"name" text PRIMARY KEY NOT NULL,
	"immutable_tags" boolean DEFAULT false NOT NULL,
	"anonymous_pull" boolean DEFAULT false NOT NULL,
	"keep_last_tags" integer,
	"expire_untagged_after_days" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_pushed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "registry_settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "registry_tags" (
	"repository" text NOT NULL,
	"tag" text NOT NULL,
	"digest" text NOT NULL,
	"pushed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "registry_tags_repository_tag_pk" PRIMARY KEY("repository","tag")
);
--> statement-breakpoint
CREATE TABLE "registry_uploads" (
	"id" text PRIMARY KEY NOT NULL,
	"repository" text NOT NULL,
	"size" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "registry_blob_links" ADD CONSTRAINT "registry_blob_links_repository_registry_repositories_name_fk" FOREIGN KEY ("repository") REFERENCES "public"."registry_repositories"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "registry_blob_links" ADD CONSTRAINT "registry_blob_links_digest_registry_blobs_digest_fk" FOREIGN KEY ("digest") REFERENCES "public"."registry_blobs"("digest") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "registry_manifests" ADD CONSTRAINT "registry_manifests_repository_registry_repositories_name_fk" FOREIGN KEY ("repository") REFERENCES "public"."registry_repositories"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "registry_tags" ADD CONSTRAINT "registry_tags_repository_registry_repositories_name_fk" FOREIGN KEY ("repository") REFERENCES "public"."registry_repositories"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "registry_blob_links_digest_idx" ON "registry_blob_links" USING btree ("digest");--> statement-breakpoint
CREATE INDEX "registry_blobs_touched_at_idx" ON "registry_blobs" USING btree ("touched_at");--> statement-breakpoint
CREATE INDEX "registry_manifest_references_digest_idx" ON "registry_manifest_references" USING btree ("digest");--> statement-breakpoint
CREATE INDEX "registry_manifests_subject_idx" ON "registry_manifests" USING btree ("repository","subject");--> statement-breakpoint
CREATE INDEX "registry_tags_digest_idx" ON "registry_tags" USING btree ("repository","digest");