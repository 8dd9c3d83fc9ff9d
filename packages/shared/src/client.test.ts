import { describe, expect, it } from "vitest";
import { SkiffClient } from "./client.js";

/** A client whose fetch answers `respond` and records the URLs asked for. */
function clientAnswering(respond: (url: string) => Response) {
  const urls: string[] = [];
  const client = new SkiffClient({
    baseUrl: "http://skiff.test/",
    token: "skf_x",
    fetch: async (url) => {
      urls.push(url);
      return respond(url);
    },
  });
  return { client, urls };
}

describe("SkiffClient", () => {
  it("sends a repository name with a slash as one encoded path segment", async () => {
    const repository = {
      name: "team/web",
      sizeBytes: 1,
      tagCount: 1,
      lastPushedAt: null,
      immutableTags: false,
      anonymousPull: false,
      storageQuotaBytes: null,
      lifecycle: { keepLastTags: null, expireUntaggedAfterDays: null },
    };
    const { client, urls } = clientAnswering((url) =>
      url.endsWith("/tags/v%2F1") ? new Response(null, { status: 204 }) : Response.json(repository),
    );
    expect((await client.getRepository("team/web")).name).toBe("team/web");
    await client.deleteImageTag("team/web", "v/1");
    expect(urls).toEqual([
      "http://skiff.test/v1/registry/repositories/team%2Fweb",
      "http://skiff.test/v1/registry/repositories/team%2Fweb/tags/v%2F1",
    ]);
  });

  it("follows a task's log over server-sent events, one JSON line per event", async () => {
    const lines = [
      { container: "web", stream: "stdout", time: "2026-01-01T00:00:00Z", text: "one" },
      { container: "web", stream: "stderr", time: "2026-01-01T00:00:01Z", text: "two" },
    ];
    const body = lines.map((line, at) => `id: ${at}-0\ndata: ${JSON.stringify(line)}\n\n`).join("");
    const { client, urls } = clientAnswering(
      () => new Response(body, { headers: { "content-type": "text/event-stream" } }),
    );
    const got = [];
    for await (const line of client.followTaskLogs("task_1", { tail: 5 })) got.push(line);
    expect(got).toEqual(lines);
    expect(urls).toEqual(["http://skiff.test/v1/tasks/task_1/logs?tail=5&follow=true"]);
  });

  it("throws the API's error body when following fails", async () => {
    const { client } = clientAnswering(() =>
      Response.json(
        { error: { code: "NotFound", message: "task task_1 not found", requestId: "req_1" } },
        { status: 404 },
      ),
    );
    const follow = client.followTaskLogs("task_1");
    await expect(follow.next()).rejects.toMatchObject({
      status: 404,
      code: "NotFound",
      message: "task task_1 not found",
    });
  });
});
