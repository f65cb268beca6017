/** File entries as the supervisor reports them, in the spec's shape. */
import { posix } from "node:path";
import type { FileInfo } from "@sandport/core";
import type { FileEntry } from "./supervisor-protocol.ts";

const types: Record<FileEntry["type"], FileInfo["type"]> = {
  1: "file",
  2: "directory",
  3: "symlink",
  4: "other",
};

/** The spec's `FileInfo` for a supervisor entry. */
export function toFileInfo(entry: FileEntry): FileInfo {
  return {
    name: entry.path === "/" ? "/" : posix.basename(entry.path),
    path: entry.path,
    type: types[entry.type],
    size: entry.size,
    modifiedAt: new Date(entry.modifiedMs),
  };
}
