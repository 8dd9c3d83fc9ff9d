import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registryTags } from "../db/schema/index.js";
import { maintenanceLockKey } from "../server.js";
import { pushImage } from "../test/oci.js";
import { startTestRegistry, type TestRegistry } from "../test/stack.js";
import { updateRepository } from "./management.js";

let registry: TestRegistry;
let token: string;

beforeAll(async () => {
  registry = await startTestRegistry({ maintenanceIntervalMs: 50 });
  token = registry.token({ solo: ["pull", "push"] });
});
afterAll(() => registry.close());

async function tags(): Promise<string[]> {
  const rows = await registry.db
    .select({ tag: registryTags.tag })
    .from(registryTags)
    .where(eq(registryTags.repository, "solo"));
  return rows.map((row) => row.tag).sort();
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe("scheduled maintenance", () => {
  it("skips its passes while another replica holds the maintenance lock, then runs them", async () => {
    // Another replica in the middle of a pass: it holds the lock on its own connection.
    const otherReplica = await registry.sql.reserve();
    await otherReplica`select pg_advisory_lock(hashtext(${maintenanceLockKey}))`;
    try {
      await pushImage(registry, "solo", "v1", token);
      await sleep(20);
      await pushImage(registry, "solo", "v2", token);
      await updateRepository(registry.db, "solo", { lifecycle: { keepLastTags: 1 } });
      // Ten intervals: this replica's passes find the lock taken and leave the rules alone.
      await sleep(500);
      expect(await tags()).toEqual(["v1", "v2"]);
    } finally {
      await otherReplica`select pg_advisory_unlock(hashtext(${maintenanceLockKey}))`;
      otherReplica.release();
    }
    // With the lock free, the next pass applies the rule.
    for (let waited = 0; waited < 5000 && (await tags()).length > 1; waited += 50) await sleep(50);
    expect(await tags()).toEqual(["v2"]);
  });
});
