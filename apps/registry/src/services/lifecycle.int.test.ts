import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registryManifests, registryTags, registryUploads } from "../db/schema/index.js";
import { pushImage, randomImage } from "../test/oci.js";
import { startTestRegistry, type TestRegistry } from "../test/stack.js";
import { applyLifecycleRules } from "./lifecycle.js";
import { updateRepository } from "./management.js";
import { purgeStaleUploads } from "./uploads.js";

let registry: TestRegistry;
let token: string;

beforeAll(async () => {
  registry = await startTestRegistry();
  token = registry.token({
    keep: ["pull", "push"],
    untagged: ["pull", "push", "delete"],
    up: ["pull", "push"],
  });
});
afterAll(() => registry.close());

async function tags(repository: string): Promise<string[]> {
  const rows = await registry.db
    .select({ tag: registryTags.tag })
    .from(registryTags)
    .where(eq(registryTags.repository, repository));
  return rows.map((row) => row.tag).sort();
}

async function manifestExists(repository: string, digest: string): Promise<boolean> {
  const rows = await registry.db
    .select()
    .from(registryManifests)
    .where(and(eq(registryManifests.repository, repository), eq(registryManifests.digest, digest)));
  return rows.length > 0;
}

describe("lifecycle rules", () => {
  it("keeps the newest N tags and deletes the manifests only the expired tags named", async () => {
    const digests: string[] = [];
    for (const tag of ["v1", "v2", "v3", "v4"]) {
      digests.push(await pushImage(registry, "keep", tag, token));
      // Push times must differ for "newest" to mean something.
      await new Promise((done) => setTimeout(done, 20));
    }
    const latest = randomImage();
    const stable = await pushImage(registry, "keep", "stable", token, latest);
    await updateRepository(registry.db, "keep", { lifecycle: { keepLastTags: 3 } });
    await applyLifecycleRules(registry.db);
    expect(await tags("keep")).toEqual(["stable", "v3", "v4"]);
    expect(await manifestExists("keep", digests[0] ?? "")).toBe(false);
    expect(await manifestExists("keep", digests[1] ?? "")).toBe(false);
    expect(await manifestExists("keep", stable)).toBe(true);
  });

  it("expires untagged manifests older than D days, and keeps newer and tagged ones", async () => {
    const old = await pushImage(registry, "untagged", "old", token);
    const fresh = await pushImage(registry, "untagged", "fresh", token);
    const tagged = await pushImage(registry, "untagged", "tagged", token);
    await registry.fetch("/v2/untagged/manifests/old", { method: "DELETE", token });
    await registry.fetch("/v2/untagged/manifests/fresh", { method: "DELETE", token });
    await registry.db
      .update(registryManifests)
      .set({ pushedAt: sql`now() - interval '10 days'` })
      .where(eq(registryManifests.repository, "untagged"));
    await registry.db
      .update(registryManifests)
      .set({ pushedAt: sql`now()` })
      .where(eq(registryManifests.digest, fresh));
    await updateRepository(registry.db, "untagged", { lifecycle: { expireUntaggedAfterDays: 7 } });
    await applyLifecycleRules(registry.db);
    expect(await manifestExists("untagged", old)).toBe(false);
    expect(await manifestExists("untagged", fresh)).toBe(true);
    expect(await manifestExists("untagged", tagged)).toBe(true);
  });
});

describe("upload purge", () => {
  it("drops uploads nobody touched for the max age, rows and bytes", async () => {
    const post = await registry.fetch("/v2/up/blobs/uploads/", { method: "POST", token });
    const location = post.headers.get("location") ?? "";
    await registry.fetch(location, { method: "PATCH", token, body: "some bytes" });
    const id = location.split("/").at(-1) ?? "";
    expect(await registry.server.context.store.uploadSize(id)).toBe(10);
    expect(await purgeStaleUploads(registry.server.context, 3600_000)).toBe(0);
    await registry.db
      .update(registryUploads)
      .set({ updatedAt: sql`now() - interval '2 hours'` })
      .where(eq(registryUploads.id, id));
    expect(await purgeStaleUploads(registry.server.context, 3600_000)).toBeGreaterThanOrEqual(1);
    expect(await registry.server.context.store.uploadSize(id)).toBeUndefined();
    const status = await registry.fetch(location, { token });
    expect(status.status).toBe(404);
  });
});
