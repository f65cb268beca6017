/** Keeps at most a fixed number of bytes of a stream, so a chatty command cannot exhaust memory. */

/** Default cap on each of stdout and stderr when the caller sets none: 16 MiB. */
export const defaultMaxOutputBytes = 16 * 1024 * 1024;

/**
 * Collects chunks up to `maxBytes`, remembering whether anything was dropped. With `onText`, the
 * kept part of each chunk is also passed on as text while it arrives (for `onStdout` / `onStderr`).
 */
export class OutputBuffer {
  readonly maxBytes: number;
  #chunks: Uint8Array[] = [];
  #size = 0;
  #truncated = false;
  readonly #onText: ((text: string) => void) | undefined;
  // Streaming decode, so a character split across two chunks is passed on whole.
  readonly #decoder = new TextDecoder();

  constructor(maxBytes: number = defaultMaxOutputBytes, onText?: (text: string) => void) {
    this.maxBytes = maxBytes;
    this.#onText = onText;
  }

  /** Whether bytes were dropped. */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** Bytes kept so far. */
  get size(): number {
    return this.#size;
  }

  /** Appends a chunk; returns the part that was kept (for streaming to callbacks). */
  append(chunk: Uint8Array): Uint8Array {
    const room = this.maxBytes - this.#size;
    if (chunk.byteLength > room) this.#truncated = true;
    if (room <= 0) return chunk.subarray(0, 0);
    const kept = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
    this.#chunks.push(kept);
    this.#size += kept.byteLength;
    if (this.#onText !== undefined && kept.byteLength > 0) {
      const text = this.#decoder.decode(kept, { stream: true });
      if (text !== "") this.#onText(text);
    }
    return kept;
  }

  /** Once the stream has ended: passes on a character the decoder still holds (unless cut off). */
  finish(): void {
    if (this.#onText === undefined || this.#truncated) return;
    const rest = this.#decoder.decode();
    if (rest !== "") this.#onText(rest);
  }

  /** The kept bytes. */
  bytes(): Uint8Array {
    if (this.#chunks.length === 1) return this.#chunks[0] as Uint8Array;
    const result = new Uint8Array(this.#size);
    let offset = 0;
    for (const chunk of this.#chunks) {
      result.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return result;
  }

  /** The kept bytes as UTF-8; a multi-byte character cut by truncation is dropped, not mangled. */
  text(): string {
    const bytes = this.bytes();
    return new TextDecoder().decode(this.#truncated ? bytes.subarray(0, completeUtf8Length(bytes)) : bytes);
  }
}

/** Length of the longest prefix of `bytes` that does not end inside a UTF-8 sequence. */
function completeUtf8Length(bytes: Uint8Array): number {
  let index = bytes.byteLength - 1;
  // Walk back over continuation bytes (10xxxxxx) to the lead byte of the last sequence.
  while (index >= 0 && index > bytes.byteLength - 4 && ((bytes[index] as number) & 0xc0) === 0x80) index--;
  if (index < 0) return bytes.byteLength;
  const lead = bytes[index] as number;
  const expected = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return bytes.byteLength - index >= expected ? bytes.byteLength : index;
}
