/** Base64 for file bodies in JSON, using the engine's native codec (workerd has it). */

interface Base64Codec {
  fromBase64(text: string): Uint8Array;
}

interface Base64Bytes {
  toBase64(): string;
}

/** Decodes standard base64. */
export function bytesFromBase64(text: string): Uint8Array {
  return (Uint8Array as unknown as Base64Codec).fromBase64(text);
}

/** Encodes standard base64. */
export function bytesToBase64(bytes: Uint8Array): string {
  return (bytes as unknown as Base64Bytes).toBase64();
}
