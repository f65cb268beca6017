/**
 * Reads the gzipped tar that `@vercel/sandbox` uploads to `fs/write` (tar-stream's ustar output,
 * with pax or GNU long-name headers for long paths). Only what the fake needs: regular files and
 * directories, with their names and bytes.
 */
import { gunzipSync } from "node:zlib";

/** One entry of the archive. */
export interface TarEntry {
  /** The name as stored (relative to the extract directory). */
  name: string;
  type: "file" | "directory" | "other";
  data: Uint8Array;
  /** Permission bits, when the header holds them. */
  mode: number | undefined;
}

const decoder = new TextDecoder();

function text(block: Uint8Array, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end === -1 ? field : field.subarray(0, end));
}

function octal(block: Uint8Array, offset: number, length: number): number {
  const value = text(block, offset, length).trim();
  return value === "" ? 0 : Number.parseInt(value, 8);
}

/** Parses pax extended header records (`"<length> <key>=<value>\n"`). */
function paxRecords(data: Uint8Array): Record<string, string> {
  const records: Record<string, string> = {};
  const body = decoder.decode(data);
  let index = 0;
  while (index < body.length) {
    const space = body.indexOf(" ", index);
    if (space === -1) break;
    const length = Number(body.slice(index, space));
    if (!Number.isSafeInteger(length) || length <= 0) break;
    const record = body.slice(space + 1, index + length - 1);
    const equals = record.indexOf("=");
    if (equals !== -1) records[record.slice(0, equals)] = record.slice(equals + 1);
    index += length;
  }
  return records;
}

/** Gunzips and parses `body`; throws on a damaged archive. */
export function readGzippedTar(body: Uint8Array): TarEntry[] {
  const archive = new Uint8Array(gunzipSync(body));
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= archive.byteLength) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const size = octal(header, 124, 12);
    const typeFlag = String.fromCharCode(header[156] ?? 0);
    const magic = text(header, 257, 6);
    const prefix = magic.startsWith("ustar") ? text(header, 345, 155) : "";
    const storedName = text(header, 0, 100);
    const dataStart = offset + 512;
    if (dataStart + size > archive.byteLength) throw new Error("tar: entry runs past the end of the archive");
    const data = archive.slice(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / 512) * 512;
    if (typeFlag === "x") {
      longName = paxRecords(data).path ?? longName;
      continue;
    }
    if (typeFlag === "L") {
      longName = text(data, 0, data.byteLength);
      continue;
    }
    if (typeFlag === "g") continue;
    const name = longName ?? (prefix === "" ? storedName : `${prefix}/${storedName}`);
    longName = undefined;
    const type = typeFlag === "0" || typeFlag === "\0" ? "file" : typeFlag === "5" ? "directory" : "other";
    entries.push({ name, type, data, mode: octal(header, 100, 8) || undefined });
  }
  return entries;
}
