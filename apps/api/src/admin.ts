import { parseArgs } from "node:util";
import { type TokenScope, tokenScopeSchema } from "@skiff/shared";
import { createToken } from "./auth/services/tokens.js";
import { openDatabase } from "./db/client.js";
import { runMigrations } from "./db/migrate.js";
import { type Env, parseEnv } from "./env.js";
import { lockDataDir } from "./lib/data-dir-lock.js";

// Recovery commands run on the server with database access only (no api, no token): the way back
// in when every admin token is lost, expired or deleted. They read DATABASE_URL and
// SKIFF_DATA_DIR as main does. With the embedded database (DATABASE_URL unset) stop Skiff first:
// PGlite serves one process at a time, so these exit 1 while Skiff holds the data directory.

const usage = `usage: node apps/api/dist/admin.js create-token --name NAME [--scope admin|deploy|read]

  create-token  stores a new API token (scope admin unless --scope says otherwise) and prints
                its secret once on stdout
`;

async function createTokenCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { name: { type: "string" }, scope: { type: "string", default: "admin" } },
    strict: true,
  });
  const name = values.name?.trim();
  if (!name || name.length > 100) {
    process.stderr.write(`skiff admin: --name is required (at most 100 characters)\n${usage}`);
    return 2;
  }
  const scope = tokenScopeSchema.safeParse(values.scope);
  if (!scope.success) {
    process.stderr.write(`skiff admin: --scope must be admin, deploy or read\n${usage}`);
    return 2;
  }
  const env = parseEnv();
  const lock = env.DATABASE_URL ? undefined : lockDataDir(env.SKIFF_DATA_DIR);
  try {
    await createTokenIn(env, name, scope.data);
  } finally {
    lock?.release();
  }
  return 0;
}

async function createTokenIn(env: Env, name: string, scope: TokenScope): Promise<void> {
  const database = await openDatabase({ url: env.DATABASE_URL, dataDir: env.SKIFF_DATA_DIR });
  try {
    // A fresh install has no tables yet; migrating is what main would do first anyway.
    await runMigrations(database);
    const created = await createToken(database.db, { name, scopes: [scope] });
    process.stderr.write(`created token ${created.id} (${scope}); shown once:\n`);
    process.stdout.write(`${created.token}\n`);
  } finally {
    await database.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "create-token") return createTokenCommand(rest);
  process.stderr.write(command ? `skiff admin: unknown command ${command}\n${usage}` : usage);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`skiff admin: ${error instanceof Error ? error.message : error}\n`);
    process.exit(1);
  },
);
