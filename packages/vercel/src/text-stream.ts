/** An async iterable of text chunks fed by a producer and ended once: a spawned process's stdout or stderr. */

/** Chunks pushed before anyone reads are kept in order; `end()` finishes every pending read. */
export class TextStream implements AsyncIterable<string> {
  readonly #chunks: string[] = [];
  readonly #waiting: Array<(result: IteratorResult<string>) => void> = [];
  #ended = false;

  /** Adds a chunk (ignored once ended). */
  push(text: string): void {
    if (this.#ended || text === "") return;
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) waiter({ value: text, done: false });
    else this.#chunks.push(text);
  }

  /** Ends the stream: readers get what is left, then the end. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const resolve of this.#waiting.splice(0)) resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<string> {
    return {
      next: () => {
        const chunk = this.#chunks.shift();
        if (chunk !== undefined) return Promise.resolve({ value: chunk, done: false });
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#waiting.push(resolve));
      },
    };
  }
}
