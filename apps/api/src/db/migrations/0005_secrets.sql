CREATE TABLE "secrets" (
	"name" text PRIMARY KEY NOT NULL,
	"description" text,
	"version" integer NOT NULL,
	"ciphertext" text NOT NULL,
	"key_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
