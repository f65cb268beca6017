/** The fake's side of the exec route: a `text/event-stream` body written event by event. */

/**
 * Writes server-sent events as the sandbox bridge does: one `data:` line per line of data, then a blank line.
 */
export class EventStreamWriter {
  /** The response body. */
  readonly stream: ReadableStream<Uint8Array>;
  /** Fires when the client cancels the body (it went away) or the writer cut it. */
  readonly closed: AbortSignal;
  readonly #closed = new AbortController();
  readonly #encoder = new TextEncoder();
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #open = true;

  constructor() {
    this.closed = this.#closed.signal;
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => {
        this.#open = false;
        this.#closed.abort();
      },
    });
  }

  /** Whether events can still be written. */
  get open(): boolean {
    return this.#open;
  }

  /** Writes one event; ignored once the stream is closed. */
  send(event: string, data: string): void {
    if (!this.#open) return;
    const lines = data.split("\n").map((line) => `data: ${line}`);
    this.#controller?.enqueue(this.#encoder.encode(`event: ${event}\n${lines.join("\n")}\n\n`));
  }

  /** Ends the stream normally (after `exit` or `error`), or cuts it (the connection drops). */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#controller?.close();
    this.#closed.abort();
  }
}
