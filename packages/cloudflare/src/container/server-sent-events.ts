/**
 * A small parser for `text/event-stream` (the WHATWG "event stream interpretation"): lines end in
 * CRLF, LF or CR, `:` starts a comment, `data:` lines join with "\n", a blank line dispatches, and an
 * event that never got its blank line is dropped at the end of the stream.
 */

/** One dispatched event. */
export interface ServerSentEvent {
  /** The `event:` field, or `"message"` when the event named none. */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** The last `id:` seen on the stream, or `""`. */
  id: string;
}

/** Turns text chunks (split anywhere) into events. */
export class ServerSentEventParser {
  #pending = "";
  #data: string[] = [];
  #eventType = "";
  #lastEventId = "";
  #started = false;
  // A chunk that ends in CR may be followed by the LF of the same CRLF in the next chunk.
  #skipLeadingLineFeed = false;

  /** Feeds a chunk of text; returns the events it completed, in order. */
  push(chunk: string): ServerSentEvent[] {
    let text = chunk;
    if (!this.#started && text !== "") {
      this.#started = true;
      if (text.startsWith("\uFEFF")) text = text.slice(1);
    }
    if (this.#skipLeadingLineFeed && text !== "") {
      if (text.startsWith("\n")) text = text.slice(1);
      this.#skipLeadingLineFeed = false;
    }
    // The held tail has no line ending yet: only the new text needs scanning.
    const scanFrom = this.#pending.length;
    this.#pending += text;
    const events: ServerSentEvent[] = [];
    let start = 0;
    for (let index = scanFrom; index < this.#pending.length; index++) {
      const character = this.#pending[index];
      if (character !== "\n" && character !== "\r") continue;
      const line = this.#pending.slice(start, index);
      if (character === "\r") {
        if (index + 1 < this.#pending.length) {
          if (this.#pending[index + 1] === "\n") index++;
        } else {
          this.#skipLeadingLineFeed = true;
        }
      }
      start = index + 1;
      const event = this.#processLine(line);
      if (event !== undefined) events.push(event);
    }
    this.#pending = this.#pending.slice(start);
    return events;
  }

  /** Ends the stream: an event without its terminating blank line is discarded, as the spec says. */
  end(): void {
    this.#pending = "";
    this.#data = [];
    this.#eventType = "";
  }

  #processLine(line: string): ServerSentEvent | undefined {
    if (line === "") return this.#dispatch();
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.#eventType = value;
        break;
      case "data":
        this.#data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) this.#lastEventId = value;
        break;
      default:
        // `retry` and unknown fields: this client never reconnects, so they change nothing.
        break;
    }
    return undefined;
  }

  #dispatch(): ServerSentEvent | undefined {
    const data = this.#data;
    const eventType = this.#eventType;
    this.#data = [];
    this.#eventType = "";
    if (data.length === 0) return undefined;
    return { event: eventType === "" ? "message" : eventType, data: data.join("\n"), id: this.#lastEventId };
  }
}

/**
 * Reads events from a byte stream as they arrive. UTF-8 characters split across chunks are decoded
 * whole. Cancelling `reader` (for an abort) ends the iteration.
 */
export async function* readServerSentEvents(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  const parser = new ServerSentEventParser();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    yield* parser.push(decoder.decode(value, { stream: true }));
  }
  yield* parser.push(decoder.decode());
  parser.end();
}
