/**
 * A small CBOR (RFC 8949) codec for the Modal fake: function inputs and outputs travel as CBOR
 * between the `modal` JavaScript SDK (cbor-x) and a function deployed with the Modal Python SDK
 * (cbor2). Written here, not borrowed from the SDK, so the fake checks the SDK's bytes instead of
 * agreeing with itself. Decodes what either side sends (definite and indefinite lengths, tags
 * skipped, half/single/double floats); encodes as cbor2 does: maps with text keys, byte strings
 * for bytes, the shortest integer form, doubles for non-integers.
 */

/** A value as it travels: maps decode to plain objects (keys as strings), byte strings to Uint8Array. */
export type CborValue =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | CborValue[]
  | { [key: string]: CborValue };

const textDecoder = new TextDecoder("utf-8", { fatal: true });
const textEncoder = new TextEncoder();

/** Decodes one CBOR item that spans all of `bytes`. */
export function decodeCbor(bytes: Uint8Array): CborValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  const need = (count: number) => {
    if (offset + count > bytes.byteLength) throw new Error("CBOR: truncated input");
  };
  const readLength = (info: number): number | bigint | undefined => {
    if (info < 24) return info;
    if (info === 24) {
      need(1);
      return bytes[offset++] as number;
    }
    if (info === 25) {
      need(2);
      const value = view.getUint16(offset);
      offset += 2;
      return value;
    }
    if (info === 26) {
      need(4);
      const value = view.getUint32(offset);
      offset += 4;
      return value;
    }
    if (info === 27) {
      need(8);
      const value = view.getBigUint64(offset);
      offset += 8;
      return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
    }
    if (info === 31) return undefined;
    throw new Error(`CBOR: reserved additional information ${info}`);
  };
  const definite = (length: number | bigint | undefined): number => {
    if (typeof length !== "number") throw new Error("CBOR: length out of range");
    return length;
  };
  const chunks = (major: number, info: number): Uint8Array => {
    const length = readLength(info);
    if (length !== undefined) {
      const size = definite(length);
      need(size);
      const slice = bytes.subarray(offset, offset + size);
      offset += size;
      return slice;
    }
    // Indefinite length: definite chunks of the same major type until "break".
    const parts: Uint8Array[] = [];
    for (;;) {
      need(1);
      const head = bytes[offset++] as number;
      if (head === 0xff) break;
      if (head >> 5 !== major) throw new Error("CBOR: bad chunk in an indefinite string");
      parts.push(chunks(major, head & 31));
    }
    const whole = new Uint8Array(parts.reduce((total, part) => total + part.byteLength, 0));
    let at = 0;
    for (const part of parts) {
      whole.set(part, at);
      at += part.byteLength;
    }
    return whole;
  };
  const item = (): CborValue => {
    need(1);
    const head = bytes[offset++] as number;
    const major = head >> 5;
    const info = head & 31;
    switch (major) {
      case 0:
        return definiteOrBig(readLength(info));
      case 1: {
        const value = definiteOrBig(readLength(info));
        return typeof value === "bigint" ? -1n - value : -1 - value;
      }
      case 2:
        return chunks(2, info).slice();
      case 3:
        return textDecoder.decode(chunks(3, info));
      case 4: {
        const length = readLength(info);
        const list: CborValue[] = [];
        if (length === undefined) {
          while (bytes[offset] !== 0xff) list.push(item());
          offset++;
        } else {
          for (let index = 0; index < definite(length); index++) list.push(item());
        }
        return list;
      }
      case 5: {
        const length = readLength(info);
        const map: Record<string, CborValue> = {};
        const entry = () => {
          const key = item();
          map[typeof key === "string" ? key : String(key)] = item();
        };
        if (length === undefined) {
          while (bytes[offset] !== 0xff) entry();
          offset++;
        } else {
          for (let index = 0; index < definite(length); index++) entry();
        }
        return map;
      }
      case 6:
        // A tag: its number is read and the tagged item returned as is.
        readLength(info);
        return item();
      default:
        return simple(info);
    }
  };
  const definiteOrBig = (value: number | bigint | undefined): number | bigint => {
    if (value === undefined) throw new Error("CBOR: indefinite length on an integer");
    return value;
  };
  const simple = (info: number): CborValue => {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22) return null;
    if (info === 23) return undefined;
    if (info === 25) {
      need(2);
      const value = halfFloat(view.getUint16(offset));
      offset += 2;
      return value;
    }
    if (info === 26) {
      need(4);
      const value = view.getFloat32(offset);
      offset += 4;
      return value;
    }
    if (info === 27) {
      need(8);
      const value = view.getFloat64(offset);
      offset += 8;
      return value;
    }
    throw new Error(`CBOR: unsupported simple value ${info}`);
  };
  const value = item();
  if (offset !== bytes.byteLength) throw new Error("CBOR: trailing bytes after the item");
  return value;
}

function halfFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Encodes `value` as cbor2 would encode the same Python value. */
export function encodeCbor(value: CborValue): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  const push = (part: Uint8Array) => {
    parts.push(part);
    size += part.byteLength;
  };
  const head = (major: number, length: number | bigint) => {
    const big = BigInt(length);
    if (big < 24n) push(Uint8Array.of((major << 5) | Number(big)));
    else if (big < 0x100n) push(Uint8Array.of((major << 5) | 24, Number(big)));
    else if (big < 0x10000n) {
      const part = new Uint8Array(3);
      part[0] = (major << 5) | 25;
      new DataView(part.buffer).setUint16(1, Number(big));
      push(part);
    } else if (big < 0x100000000n) {
      const part = new Uint8Array(5);
      part[0] = (major << 5) | 26;
      new DataView(part.buffer).setUint32(1, Number(big));
      push(part);
    } else {
      const part = new Uint8Array(9);
      part[0] = (major << 5) | 27;
      new DataView(part.buffer).setBigUint64(1, big);
      push(part);
    }
  };
  const item = (entry: CborValue) => {
    if (entry === null || entry === undefined) push(Uint8Array.of(0xf6));
    else if (entry === false) push(Uint8Array.of(0xf4));
    else if (entry === true) push(Uint8Array.of(0xf5));
    else if (typeof entry === "bigint") {
      if (entry >= 0n) head(0, entry);
      else head(1, -1n - entry);
    } else if (typeof entry === "number") {
      if (Number.isSafeInteger(entry)) {
        if (entry >= 0) head(0, entry);
        else head(1, -1 - entry);
      } else {
        const part = new Uint8Array(9);
        part[0] = 0xfb;
        new DataView(part.buffer).setFloat64(1, entry);
        push(part);
      }
    } else if (typeof entry === "string") {
      const encoded = textEncoder.encode(entry);
      head(3, encoded.byteLength);
      push(encoded);
    } else if (entry instanceof Uint8Array) {
      head(2, entry.byteLength);
      push(entry);
    } else if (Array.isArray(entry)) {
      head(4, entry.length);
      for (const element of entry) item(element);
    } else {
      const entries = Object.entries(entry);
      head(5, entries.length);
      for (const [key, element] of entries) {
        item(key);
        item(element);
      }
    }
  };
  item(value);
  const whole = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.byteLength;
  }
  return whole;
}
