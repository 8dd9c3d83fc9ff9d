import { describe, expect, it } from "vitest";
import { parseServerSentEvents } from "./sse.js";

async function collect(chunks: string[]) {
  async function* source() {
    yield* chunks;
  }
  const events = [];
  for await (const event of parseServerSentEvents(source())) events.push(event);
  return events;
}

describe("parseServerSentEvents", () => {
  it("joins events split across chunks at any byte", async () => {
    const text = 'id: 1-0\ndata: {"text":"a"}\n\nid: 2-0\ndata: {"text":"b"}\n\n';
    const whole = await collect([text]);
    for (let cut = 1; cut < text.length; cut++) {
      expect(await collect([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
    }
    expect(whole).toEqual([
      { id: "1-0", data: '{"text":"a"}' },
      { id: "2-0", data: '{"text":"b"}' },
    ]);
  });

  it("handles CRLF line ends, comments, multi-line data and a missing final blank line", async () => {
    const events = await collect([
      ": keep-alive\r\nevent: log\r\ndata: one\r\ndata: two\r",
      "\n\r\n",
      "data: cut",
    ]);
    expect(events).toEqual([{ event: "log", data: "one\ntwo" }]);
  });
});
