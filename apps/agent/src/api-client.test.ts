import { SkiffApiError } from "@skiff/shared";
import { describe, expect, it } from "vitest";
import { ApiClient } from "./api-client.js";

/** A fetch that records the request and answers with `status` and `body`. */
function answering(status: number, body: unknown) {
  const requests: { url: string; init: RequestInit }[] = [];
  const fetch = async (url: string, init: RequestInit) => {
    requests.push({ url, init });
    return new Response(body === null ? null : JSON.stringify(body), { status });
  };
  return { fetch, requests };
}

describe("ApiClient", () => {
  it("long-polls assignments with the node credential and parses the answer", async () => {
    const { fetch, requests } = answering(200, {
      index: 4,
      nodeState: "active",
      assignments: [],
    });
    const client = new ApiClient({ baseUrl: "http://api:3000/", credential: "cred", fetch });
    const answer = await client.waitForAssignments("node_1", 3, 30);
    expect(answer).toEqual({ index: 4, nodeState: "active", assignments: [] });
    expect(requests[0]?.url).toBe(
      "http://api:3000/v1/agent/nodes/node_1/assignments?index=3&wait=30s",
    );
    expect(new Headers(requests[0]?.init.headers).get("authorization")).toBe("Bearer cred");
  });

  it("posts task reports as JSON", async () => {
    const { fetch, requests } = answering(204, null);
    const client = new ApiClient({ baseUrl: "http://api", credential: "cred", fetch });
    await client.reportTask("node_1", "task_1", { status: "pending", containers: [] });
    expect(requests[0]?.url).toBe("http://api/v1/agent/nodes/node_1/tasks/task_1/status");
    expect(requests[0]?.init.method).toBe("POST");
    expect(JSON.parse(String(requests[0]?.init.body))).toEqual({
      status: "pending",
      containers: [],
    });
  });

  it("turns the api's error body into a SkiffApiError", async () => {
    const { fetch } = answering(401, {
      error: { code: "Unauthorized", message: "bad join token", requestId: "req_1" },
    });
    const client = new ApiClient({ baseUrl: "http://api", fetch });
    const failure = client.register({
      joinToken: "nope",
      name: "n",
      capacity: { cpu: 1024, memory: 512 },
    });
    await expect(failure).rejects.toBeInstanceOf(SkiffApiError);
    await expect(failure).rejects.toMatchObject({ status: 401, code: "Unauthorized" });
  });

  it("refuses an answer that does not match the protocol", async () => {
    const { fetch } = answering(200, { index: "x" });
    const client = new ApiClient({ baseUrl: "http://api", fetch });
    await expect(client.waitForAssignments("n", 0, 1)).rejects.toThrow();
  });
});
