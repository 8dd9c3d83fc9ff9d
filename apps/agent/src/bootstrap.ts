import { SkiffApiError, SkiffClient } from "@skiff/shared";
import type { Env } from "./env.js";
import { backoffDelay, sleep } from "./lib/backoff.js";
import type { Logger } from "./lib/logger.js";
import { loadAgentState } from "./state-file.js";

/** A join token made for this agent only has to outlive its one registration. */
const bootstrapTokenTtlSeconds = 600;

/** Neither a registration, nor a join token, nor a way to get one: the operator must act. */
export class MissingJoinTokenError extends Error {
  constructor(env: Env) {
    super(
      `no registration in ${env.SKIFF_AGENT_STATE_DIR} and no SKIFF_JOIN_TOKEN: create one ` +
        `(POST /v1/pools/${env.SKIFF_POOL}/join-tokens) and set SKIFF_JOIN_TOKEN, or set ` +
        "SKIFF_ADMIN_TOKEN so the agent creates its own",
    );
    this.name = "MissingJoinTokenError";
  }
}

export interface BootstrapOptions {
  logger: Logger;
  signal?: AbortSignal;
  /** Defaults to a client of env.SKIFF_API_URL with env.SKIFF_ADMIN_TOKEN. */
  client?: Pick<SkiffClient, "createJoinToken">;
}

/**
 * The environment the Agent starts with: unchanged when the node is registered or has a join
 * token; else, given SKIFF_ADMIN_TOKEN, with a join token the agent made itself for SKIFF_POOL.
 * This is what lets one `docker compose up -d` bring up the api and a node together. Waits (with
 * backoff) for an api that is not up yet; rejects when there is no way to join at all, or the
 * api refuses the admin token or the pool.
 */
export async function ensureJoinToken(env: Env, opts: BootstrapOptions): Promise<Env> {
  if (env.SKIFF_JOIN_TOKEN || (await loadAgentState(env.SKIFF_AGENT_STATE_DIR))) return env;
  if (!env.SKIFF_ADMIN_TOKEN) throw new MissingJoinTokenError(env);
  const client =
    opts.client ?? new SkiffClient({ baseUrl: env.SKIFF_API_URL, token: env.SKIFF_ADMIN_TOKEN });
  for (let attempt = 0; !opts.signal?.aborted; attempt++) {
    try {
      const { token } = await client.createJoinToken(env.SKIFF_POOL, bootstrapTokenTtlSeconds, 1);
      opts.logger.info({ pool: env.SKIFF_POOL }, "created a join token with SKIFF_ADMIN_TOKEN");
      return { ...env, SKIFF_JOIN_TOKEN: token };
    } catch (error) {
      if (error instanceof SkiffApiError && error.status < 500 && error.status !== 429) {
        throw new Error(
          `cannot create a join token for pool ${env.SKIFF_POOL} with SKIFF_ADMIN_TOKEN: ${error.message}`,
        );
      }
      const delay = backoffDelay(attempt);
      opts.logger.warn(
        { err: error, delayMs: delay },
        "api not reachable for a join token; retrying",
      );
      await sleep(delay, opts.signal);
    }
  }
  return env;
}
