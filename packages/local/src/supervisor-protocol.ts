/**
 * The frames of the private channel between the host and a sandbox's supervisor (the C side is
 * `native/src/protocol.h`): `u32 payload length | u8 type | u32 request id | payload`, little
 * endian. Everything the supervisor sends is treated as hostile: it runs as the sandbox uid.
 */

/** Message types the host sends. */
export const HostMessage = {
  config: 1,
  exec: 2,
  stdin: 3,
  signal: 4,
  readFile: 5,
  writeOpen: 6,
  writeData: 7,
  writeClose: 8,
  connect: 9,
  connectionData: 10,
  connectionClose: 11,
  closeOutput: 12,
  listFiles: 13,
  statFile: 14,
  makeDirectory: 15,
  removeFile: 16,
  renameFile: 17,
} as const;

/** Message types the supervisor sends. */
export const SupervisorMessage = {
  ready: 1,
  setupFailed: 2,
  started: 3,
  stdout: 4,
  stderr: 5,
  exit: 6,
  error: 7,
  fileData: 8,
  ok: 9,
  connectionData: 10,
} as const;

/** Why a request failed, as the supervisor classifies it. */
export const RequestErrorKind = {
  system: 1,
  notFound: 2,
  notRegular: 3,
  link: 4,
  tooLarge: 5,
  badDirectory: 6,
  execFailed: 7,
  badRequest: 8,
  refused: 9,
  exists: 10,
  notEmpty: 11,
  notDirectory: 12,
} as const;

/** A file entry as LIST_FILES and STAT_FILE send it (see FILE_ENTRY_HEADER_BYTES in protocol.h). */
export interface FileEntry {
  type: 1 | 2 | 3 | 4;
  size: number;
  modifiedMs: number;
  path: string;
}

const fileEntryHeaderBytes = 21;

/** Decodes the entries of FILE_DATA payloads; throws on anything malformed. */
export function decodeFileEntries(payload: Buffer): FileEntry[] {
  const entries: FileEntry[] = [];
  let offset = 0;
  while (offset < payload.byteLength) {
    if (payload.byteLength - offset < fileEntryHeaderBytes) throw new Error("a truncated file entry");
    const type = payload.readUInt8(offset);
    const pathLength = payload.readUInt32LE(offset + 17);
    const end = offset + fileEntryHeaderBytes + pathLength;
    if (type < 1 || type > 4 || end > payload.byteLength) throw new Error("a malformed file entry");
    const path = payload.toString("utf8", offset + fileEntryHeaderBytes, end);
    if (!path.startsWith("/")) throw new Error("a file entry with a relative path");
    entries.push({
      type: type as FileEntry["type"],
      size: Number(payload.readBigUInt64LE(offset + 1)),
      modifiedMs: Number(payload.readBigUInt64LE(offset + 9)),
      path,
    });
    offset = end;
  }
  return entries;
}

export const frameHeaderBytes = 9;
/** Largest payload either side sends in one frame (the C side's FRAME_MAX_PAYLOAD). */
export const maxFramePayload = 1024 * 1024 + 4096;
/** Data the host splits into several frames (file writes, stdin). */
export const dataChunkBytes = 1024 * 1024;

/** One decoded frame. */
export interface Frame {
  type: number;
  id: number;
  payload: Buffer;
}

/** Encodes one frame. */
export function encodeFrame(type: number, id: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const frame = Buffer.allocUnsafe(frameHeaderBytes + payload.byteLength);
  frame.writeUInt32LE(payload.byteLength, 0);
  frame.writeUInt8(type, 4);
  frame.writeUInt32LE(id, 5);
  frame.set(payload, frameHeaderBytes);
  return frame;
}

/** NUL-terminated strings, concatenated (the C side splits them with memchr). */
export function nulTerminated(values: readonly string[]): Buffer {
  return Buffer.concat(values.map((value) => Buffer.from(`${value}\0`)));
}

/** A little-endian u32. */
export function u32(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32LE(value, 0);
  return bytes;
}

/** A little-endian u64. */
export function u64(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(8);
  bytes.writeBigUInt64LE(BigInt(value), 0);
  return bytes;
}

/**
 * Splits a byte stream into frames. A length over the maximum is a protocol violation: the
 * supervisor is broken or hostile, and `onViolation` is called once.
 */
export class FrameDecoder {
  #pending: Buffer = Buffer.alloc(0);
  #broken = false;
  readonly #onFrame: (frame: Frame) => void;
  readonly #onViolation: (reason: string) => void;

  constructor(onFrame: (frame: Frame) => void, onViolation: (reason: string) => void) {
    this.#onFrame = onFrame;
    this.#onViolation = onViolation;
  }

  push(chunk: Buffer): void {
    if (this.#broken) return;
    this.#pending = this.#pending.byteLength === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (this.#pending.byteLength >= frameHeaderBytes) {
      const length = this.#pending.readUInt32LE(0);
      if (length > maxFramePayload) {
        this.#broken = true;
        this.#onViolation(`a frame of ${length} bytes`);
        return;
      }
      if (this.#pending.byteLength < frameHeaderBytes + length) return;
      const frame = {
        type: this.#pending.readUInt8(4),
        id: this.#pending.readUInt32LE(5),
        payload: this.#pending.subarray(frameHeaderBytes, frameHeaderBytes + length),
      };
      this.#pending = this.#pending.subarray(frameHeaderBytes + length);
      this.#onFrame(frame);
      if (this.#broken) return;
    }
  }
}
