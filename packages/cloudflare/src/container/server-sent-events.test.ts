import { describe, expect, it } from "vitest";
import { readServerSentEvents, type ServerSentEvent, ServerSentEventParser } from "./server-sent-events.ts";

/** Feeds `chunks` to one parser and returns every event, in order. */
function parseChunks(chunks: readonly string[]): ServerSentEvent[] {
  const parser = new ServerSentEventParser();
  const events = chunks.flatMap((chunk) => parser.push(chunk));
  parser.end();
  return events;
}

/** Every way of cutting `text` into two chunks. */
function everySplit(text: string): string[][] {
  return Array.from({ length: text.length + 1 }, (_, index) => [text.slice(0, index), text.slice(index)]);
}

/** A reader over byte chunks, as a fetch body would give. */
function readerOf(chunks: readonly Uint8Array[]): ReadableStreamDefaultReader<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  }).getReader();
}

describe("ServerSentEventParser", () => {
  it("parses named events with data, as the sandbox bridge writes them", () => {
    expect(parseChunks(['event: stdout\ndata: aGk=\n\nevent: exit\ndata: {"exit_code":0}\n\n'])).toEqual([
      { event: "stdout", data: "aGk=", id: "" },
      { event: "exit", data: '{"exit_code":0}', id: "" },
    ]);
  });

  it("joins multi-line data with newlines", () => {
    expect(parseChunks(["event: error\ndata: first\ndata: second\ndata:\ndata: fourth\n\n"])).toEqual([
      { event: "error", data: "first\nsecond\n\nfourth", id: "" },
    ]);
  });

  it("accepts CRLF and lone CR line endings", () => {
    const expected = [
      { event: "stdout", data: "a", id: "" },
      { event: "exit", data: "b", id: "" },
    ];
    expect(parseChunks(["event: stdout\r\ndata: a\r\n\r\nevent: exit\r\ndata: b\r\n\r\n"])).toEqual(expected);
    expect(parseChunks(["event: stdout\rdata: a\r\revent: exit\rdata: b\r\r"])).toEqual(expected);
  });

  it("gives the same events however the stream is split into chunks", () => {
    const text =
      ': keep-alive\r\nevent: stdout\r\ndata: x\r\ndata: y\r\n\r\nid: 7\nevent: exit\ndata: {"exit_code":3}\n\n';
    const whole = parseChunks([text]);
    expect(whole).toEqual([
      { event: "stdout", data: "x\ny", id: "" },
      { event: "exit", data: '{"exit_code":3}', id: "7" },
    ]);
    for (const chunks of everySplit(text)) expect(parseChunks(chunks), JSON.stringify(chunks)).toEqual(whole);
    expect(parseChunks([...text])).toEqual(whole);
  });

  it("does not read a CR at the end of one chunk and an LF at the start of the next as two lines", () => {
    // Were the LF a second line ending, the empty line would dispatch "a" before "b" was added.
    expect(parseChunks(["data: a\r", "\ndata: b\n\n"])).toEqual([{ event: "message", data: "a\nb", id: "" }]);
  });

  it("ignores comments, unknown fields and retry, and strips one leading space only", () => {
    expect(parseChunks([":comment\nretry: 10\nfoo: bar\nevent:stdout\ndata:  two spaces\n\n"])).toEqual([
      { event: "stdout", data: " two spaces", id: "" },
    ]);
  });

  it("does not dispatch an event without data, and names an unnamed event message", () => {
    expect(parseChunks(["event: exit\n\ndata: plain\n\n"])).toEqual([
      { event: "message", data: "plain", id: "" },
    ]);
  });

  it("drops an event whose blank line never came", () => {
    expect(parseChunks(['event: stdout\ndata: aGk=\n\nevent: exit\ndata: {"exit_code":0}\n'])).toEqual([
      { event: "stdout", data: "aGk=", id: "" },
    ]);
  });

  it("strips a byte order mark at the start of the stream", () => {
    expect(parseChunks(["\uFEFFdata: x\n\n"])).toEqual([{ event: "message", data: "x", id: "" }]);
  });
});

describe("readServerSentEvents", () => {
  it("decodes a UTF-8 character split across byte chunks", async () => {
    const bytes = new TextEncoder().encode("event: note\ndata: héllo ✓\n\n");
    const cut = bytes.indexOf(0xc3) + 1;
    const events: ServerSentEvent[] = [];
    for await (const event of readServerSentEvents(readerOf([bytes.subarray(0, cut), bytes.subarray(cut)]))) {
      events.push(event);
    }
    expect(events).toEqual([{ event: "note", data: "héllo ✓", id: "" }]);
  });

  it("yields each event as soon as its chunk arrives", async () => {
    let push: ((chunk: string) => void) | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (chunk) => controller.enqueue(new TextEncoder().encode(chunk));
      },
    });
    const iterator = readServerSentEvents(stream.getReader());
    push?.("data: first\n\n");
    expect((await iterator.next()).value).toEqual({ event: "message", data: "first", id: "" });
    push?.("data: second\n\n");
    expect((await iterator.next()).value).toEqual({ event: "message", data: "second", id: "" });
    await iterator.return(undefined);
  });
});
