/** The spec's `FileInfo` of a file on this host, for runners whose sandbox files are host files. */
import { lstat } from "node:fs/promises";
import { posix } from "node:path";
import type { FileInfo } from "../sandbox-request.ts";

/** Describes `hostPath` (a final link is not followed), reported under `sandboxPath`. */
export async function hostFileInfo(hostPath: string, sandboxPath: string = hostPath): Promise<FileInfo> {
  const stats = await lstat(hostPath);
  return {
    name: posix.basename(sandboxPath),
    path: sandboxPath,
    type: stats.isFile()
      ? "file"
      : stats.isDirectory()
        ? "directory"
        : stats.isSymbolicLink()
          ? "symlink"
          : "other",
    size: stats.size,
    modifiedAt: stats.mtime,
  };
}
