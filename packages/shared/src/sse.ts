/** One event of a `text/event-stream`. */
export interface ServerSentEvent {
  id?: string;
  event?: string;
  data: string;
}

/**
 * Reads server-sent events from a stream of text chunks. EventSource cannot send an
 * Authorization header, so clients read the response body with fetch and parse it here.
 */
export async function* parseServerSentEvents(
  chunks: AsyncIterable<string>,
): AsyncGenerator<ServerSentEvent> {
  let buffer = "";
  let current: { id?: string; event?: string; data: string[] } = { data: [] };
  for await (const chunk of chunks) {
    buffer += chunk;
    let newline = buffer.search(/\r\n|\r|\n/);
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      const width = buffer.startsWith("\r\n", newline) ? 2 : 1;
      // A lone \r at the end of a chunk may be the first half of \r\n: wait for more.
      if (buffer[newline] === "\r" && newline === buffer.length - 1) break;
      buffer = buffer.slice(newline + width);
      if (line === "") {
        if (current.data.length > 0) {
          yield { ...withoutData(current), data: current.data.join("\n") };
        }
        current = { data: [] };
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "data") current.data.push(value);
        else if (field === "id") current.id = value;
        else if (field === "event") current.event = value;
      }
      newline = buffer.search(/\r\n|\r|\n/);
    }
  }
}

function withoutData(event: { id?: string; event?: string }): Omit<ServerSentEvent, "data"> {
  const out: Omit<ServerSentEvent, "data"> = {};
  if (event.id !== undefined) out.id = event.id;
  if (event.event !== undefined) out.event = event.event;
  return out;
}
