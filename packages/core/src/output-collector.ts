/**
 * Collects one output stream of a command for adapters that receive output in chunks: bounded
 * bytes, the kept text passed on as it arrives, and the streams combined in arrival order.
 */
import { OutputBuffer } from "./output-buffer.ts";

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

  /** Adds bytes; the part within the cap goes to the callback now. Returns that part. */
  append(bytes: Uint8Array): Uint8Array {
    return this.#buffer.append(bytes);
  }

  /** Passes on a character still held by the decoder, once the stream has ended. */
  finish(): void {
    this.#buffer.finish();
  }

  /** The kept text. */
  text(): string {
    return this.#buffer.text();
  }

  /** The kept bytes, exactly as the command wrote them. */
  bytes(): Uint8Array {
    return this.#buffer.bytes();
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

/**
 * stdout and stderr as kept, interleaved in the order their chunks arrived, capped at `maxBytes`
 * like each stream. Each stream is decoded on its own, so a character split across two of its
 * chunks stays whole even when the other stream's output came in between.
 */
export class CombinedOutput {
  #room: number;
  #cut = false;
  readonly #parts: string[] = [];
  readonly #decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };

  constructor(maxBytes: number) {
    this.#room = maxBytes;
  }

  /** Adds the part of a chunk its stream kept. */
  append(stream: "stdout" | "stderr", kept: Uint8Array): void {
    if (kept.byteLength === 0 || this.#cut) return;
    const part = kept.byteLength > this.#room ? kept.subarray(0, this.#room) : kept;
    if (part.byteLength < kept.byteLength) this.#cut = true;
    this.#room -= part.byteLength;
    const text = this.#decoders[stream].decode(part, { stream: true });
    if (text !== "") this.#parts.push(text);
  }

  /**
   * The text, once both streams ended. A character still held for a stream that was cut (here, or
   * at its own cap) is dropped, as each stream's text drops it.
   */
  text(streamTruncated: { stdout: boolean; stderr: boolean }): string {
    const tail = (["stdout", "stderr"] as const)
      .filter((stream) => !this.#cut && !streamTruncated[stream])
      .map((stream) => this.#decoders[stream].decode());
    return [...this.#parts, ...tail].join("");
  }
}
