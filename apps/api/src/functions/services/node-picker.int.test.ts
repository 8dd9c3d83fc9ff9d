import { afterAll, beforeAll, expect, it } from "vitest";
import { FakeFunctionAgent } from "../../test/fake-function-agent.js";
import { createTestStack, type TestStack } from "../../test/harness.js";
import { NodePicker } from "./node-picker.js";

// The picker reads the nodes every few seconds; a node that joined since must not make the
// first invocations after it fail with "no node has room" (or forget its warm instances).
let stack: TestStack;
let agent: FakeFunctionAgent;
const nothingHeld = async () => new Map<string, number>();

beforeAll(async () => {
  stack = await createTestStack();
});

afterAll(async () => {
  await agent?.close();
  await stack?.close();
});

it("finds a node that joined after its last read, at once", async () => {
  const forCandidates = new NodePicker(stack.services.db, { refreshMs: 60_000 });
  const forNode = new NodePicker(stack.services.db, { refreshMs: 60_000 });
  expect(await forCandidates.candidates(128, nothingHeld)).toEqual([]);
  expect(await forNode.nodes()).toEqual([]);
  // The view is a second old: a miss may read again.
  await new Promise((done) => setTimeout(done, 1_100));

  agent = await FakeFunctionAgent.join(stack);
  const found = await forCandidates.candidates(128, nothingHeld);
  expect(found.map((node) => node.id)).toEqual([agent.nodeId]);
  expect((await forNode.node(agent.nodeId))?.id).toBe(agent.nodeId);
  // Still no room for more than the node has: a miss, but no second read within the second.
  expect(await forCandidates.candidates(1_000_000, nothingHeld)).toEqual([]);
});
