-- The platform's own capacity: operators' agents join it; fargate tasks run there.
INSERT INTO "pools" ("name") VALUES ('fargate') ON CONFLICT DO NOTHING;
