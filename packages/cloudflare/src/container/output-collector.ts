/** Collects one output stream of a command: bounded bytes, plus the kept text passed on as it arrives. */
import { OutputBuffer } from "@sandport/core";

/** Thrown in place of an error raised by the caller's `onStdout` / `onStderr`, to tell it apart. */
export class CallbackFailure {
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
}

/** One stream (stdout or stderr) of a running command. */
export class OutputCollector {
  readonly #buffer: OutputBuffer;
  readonly #onChunk: ((chunk: string) => void) | undefined;

  constructor(maxBytes: number, onChunk: ((chunk: string) => void) | undefined) {
    this.#onChunk = onChunk;
    this.#buffer = new OutputBuffer(maxBytes, onChunk === undefined ? undefined : (text) => this.#emit(text));
  }

  /** Adds bytes; the part within the cap goes to the callback now. */
  append(bytes: Uint8Array): void {
    this.#buffer.append(bytes);
  }

  /** Passes on a character still held by the decoder, once the stream has ended. */
  finish(): void {
    this.#buffer.finish();
  }

  /** The kept text. */
  text(): string {
    return this.#buffer.text();
  }

  /** Whether bytes were dropped at the cap. */
  get truncated(): boolean {
    return this.#buffer.truncated;
  }

  #emit(text: string): void {
    try {
      this.#onChunk?.(text);
    } catch (error) {
      throw new CallbackFailure(error);
    }
  }
}
