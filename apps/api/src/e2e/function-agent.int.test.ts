import { functionsControlKey } from "@skiff/agent";
import { fargatePool } from "@skiff/shared";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AllInOne, startAllInOne } from "../test/all-in-one.js";
import { waitFor } from "../test/wait.js";

// `npm start`'s local fargate node serves function instances: its agent's control port (any
// free port here) reaches the api with its heartbeats, and answers only the node's control key.
// The pool default node serves none.
const adminToken = "e2e-function-agent-token-0123456789abcdef";
let stack: AllInOne;
let sql: postgres.Sql;

beforeAll(async () => {
  stack = await startAllInOne("fn-agent", adminToken);
  sql = postgres(stack.databaseUrl, { max: 1 });
});

afterAll(async () => {
  await sql?.end();
  await stack?.stop();
});

describe("the local fargate agent's function control server", () => {
  it("reports its control port and answers the node's control key only", async () => {
    const fargate = stack.nodes.find((node) => node.pool === fargatePool);
    const other = stack.nodes.find((node) => node.pool !== fargatePool);
    const row = await waitFor("the fargate node's control port", 15_000, async () => {
      const [found] = await sql<{ control_port: number | null; credential_hash: string }[]>`
        select control_port, credential_hash from nodes where id = ${fargate?.id ?? ""}`;
      return found?.control_port ? found : undefined;
    });
    const [pool] = await sql<{ control_port: number | null }[]>`
      select control_port from nodes where id = ${other?.id ?? ""}`;
    expect(pool?.control_port).toBeNull();

    const url = `http://127.0.0.1:${row.control_port}/skiff/v1/instances`;
    const refused = await fetch(url, { headers: { authorization: `Bearer ${"0".repeat(64)}` } });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: "Unauthorized" } });
    const key = functionsControlKey(row.credential_hash);
    const listed = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual({ instances: [] });
  });
});
