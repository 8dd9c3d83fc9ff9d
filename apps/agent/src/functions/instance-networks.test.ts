import { describe, expect, it } from "vitest";
import type { EgressFence } from "../egress-fence.js";
import { defaultIsolation } from "../isolation.js";
import type { InstanceEngine } from "./instance-engine.js";
import { InstanceNetworks } from "./instance-networks.js";

// The spare pool's bookkeeping against an in-memory engine (the real engine and fence are in
// instances.int.test.ts): what a start waits for, and who gets which network.
function fakeEngine(options: { failCreates?: number } = {}) {
  const networks = new Map<string, { subnet: string; labels: Record<string, string> }>();
  let failures = options.failCreates ?? 0;
  const engine = {
    creates: 0,
    async createNetwork(name: string, labels: Record<string, string>, subnet: string) {
      engine.creates++;
      await new Promise((done) => setTimeout(done, 5));
      if (failures-- > 0) throw new Error("engine refused");
      networks.set(name, { subnet, labels });
    },
    async networks(label: string) {
      const [key = "", value] = label.split("=");
      return [...networks].flatMap(([name, network]) =>
        key in network.labels && (value === undefined || network.labels[key] === value)
          ? [{ name, subnet: network.subnet, labels: network.labels }]
          : [],
      );
    },
    async removeNetwork(name: string) {
      networks.delete(name);
    },
    names: () => [...networks.keys()],
  };
  return engine;
}

const fence = { apply: async () => {}, release: async () => {} } as unknown as EgressFence;

function pool(engine: ReturnType<typeof fakeEngine>, spares: number, errors: unknown[] = []) {
  return new InstanceNetworks(
    "node-1",
    engine as unknown as InstanceEngine,
    defaultIsolation,
    fence,
    spares,
    (error) => errors.push(error),
  );
}

describe("InstanceNetworks' spares", () => {
  it("hands a start a spare made ahead, and makes its replacement in the background", async () => {
    const engine = fakeEngine();
    const networks = pool(engine, 2);
    networks.fill();
    await networks.settled();
    expect(networks.spareReady()).toBe(2);
    const creates = engine.creates;
    const network = await networks.take("fni_a");
    // Taken at once: nothing was made for it on its path.
    expect(engine.creates).toBe(creates);
    expect(engine.names()).toContain(network.name);
    await networks.settled();
    expect(engine.creates).toBe(creates + 1);
    expect(networks.spareReady()).toBe(2);
    await networks.close();
    expect(engine.names()).toEqual([network.name]);
  });

  it("gives a burst of starts past the spares a network each, on distinct subnets", async () => {
    const engine = fakeEngine();
    const networks = pool(engine, 0);
    const taken = await Promise.all(["a", "b", "c"].map((id) => networks.take(`fni_${id}`)));
    expect(new Set(taken.map((network) => network.name)).size).toBe(3);
    expect(new Set(taken.map((network) => network.subnet)).size).toBe(3);
    expect(networks.spareReady()).toBe(0);
  });

  it("fails the waiting start when its network cannot be made, and recovers after", async () => {
    const engine = fakeEngine({ failCreates: 1 });
    const errors: unknown[] = [];
    const networks = pool(engine, 0, errors);
    await expect(networks.take("fni_a")).rejects.toThrow("engine refused");
    expect((await networks.take("fni_b")).name).toMatch(/^skiff-fnnet-/);
    expect(errors).toEqual([]);
  });

  it("keeps its spares and held networks in a leftovers sweep, removes a former process's", async () => {
    const engine = fakeEngine();
    const former = pool(engine, 1);
    former.fill();
    await former.settled();
    const networks = pool(engine, 1);
    networks.fill();
    await networks.settled();
    const held = await networks.take("fni_kept");
    await networks.settled();
    await networks.removeExcept(new Set(["fni_kept"]));
    // Left: the held one and this process's new spare; the former process's spare is gone.
    expect(engine.names()).toHaveLength(2);
    expect(engine.names()).toContain(held.name);
  });
});
