/**
 * The files API over Modal's in-image fs-tools helper (`sandbox.filesystem`: read, write, list,
 * stat, make directory, remove; each one exec of `/__modal/.bin/modal-sandbox-fs-tools`, data over
 * stdin and stdout, so binary safe). Rename, which the helper lacks, is one `mv` in the sandbox,
 * decided by exit status. Every path reaching here is absolute and inside /workspace.
 */
import { type FileInfo, InvalidRequestError, NotFoundError, OutputLimitError } from "@sandport/core";
import { errorFromModal, type FailureContext } from "./modal-errors.ts";
import { type ModalSdkSandbox, runModalCommand } from "./modal-exec.ts";
import { modalWorkspaceRoot } from "./modal-request-mapping.ts";
import type { ModalSdk } from "./modal-settings.ts";

/** What the file calls need from their sandbox. */
export interface ModalFileContext {
  sandbox: ModalSdkSandbox;
  sdk: ModalSdk;
  context: FailureContext;
}

/** The helper's description of a file (the fields used). */
interface HelperEntry {
  name: string;
  path: string;
  type: string;
  size: number;
  modifiedTime: number;
}

function fileInfoOf(entry: HelperEntry): FileInfo {
  return {
    name: entry.name,
    path: entry.path,
    type:
      entry.type === "file" || entry.type === "directory" || entry.type === "symlink" ? entry.type : "other",
    size: Number(entry.size) || 0,
    modifiedAt: new Date((Number(entry.modifiedTime) || 0) * 1000),
  };
}

async function attempt<T>(files: ModalFileContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw errorFromModal(error, files.sdk, files.context);
  }
}

/** Reads a whole file. */
export function readModalFile(files: ModalFileContext, absolute: string): Promise<Uint8Array> {
  return attempt(files, () => files.sandbox.filesystem.readBytes(absolute));
}

/** Writes (creates or truncates) a file; the helper creates its parents. */
export function writeModalFile(files: ModalFileContext, absolute: string, data: Uint8Array): Promise<void> {
  return attempt(files, () => files.sandbox.filesystem.writeBytes(data, absolute));
}

/** Describes a file without following a final link. */
export async function statModalFile(files: ModalFileContext, absolute: string): Promise<FileInfo> {
  return fileInfoOf(await attempt(files, () => files.sandbox.filesystem.stat(absolute)));
}

/** `listFiles`: at most `maxEntries` entries sorted by path; recursive walks one directory per call. */
export async function listModalFiles(
  files: ModalFileContext,
  absolute: string,
  recursive: boolean,
  maxEntries: number,
): Promise<FileInfo[]> {
  const found: FileInfo[] = [];
  const pending = [absolute];
  while (pending.length > 0) {
    const directory = pending.shift() as string;
    const entries = await attempt(files, () => files.sandbox.filesystem.listFiles(directory));
    for (const entry of entries) {
      const info = fileInfoOf(entry);
      found.push(info);
      if (found.length > maxEntries) {
        throw new OutputLimitError(
          `${files.context.operation}: more than maxEntries (${maxEntries}) entries`,
          {
            providerId: files.context.providerId,
          },
        );
      }
      // Links are listed, never followed.
      if (recursive && info.type === "directory") pending.push(info.path);
    }
  }
  return found.sort((left, right) => (left.path < right.path ? -1 : left.path > right.path ? 1 : 0));
}

/** `makeDirectory`: with `recursive`, parents too and an existing directory is fine. */
export function makeModalDirectory(
  files: ModalFileContext,
  absolute: string,
  recursive: boolean,
): Promise<void> {
  return attempt(files, () => files.sandbox.filesystem.makeDirectory(absolute, { createParents: recursive }));
}

/** `removeFile`: a file, a link (never its target) or a directory (non-empty only with `recursive`). */
export function removeModalFile(
  files: ModalFileContext,
  absolute: string,
  recursive: boolean,
): Promise<void> {
  return attempt(files, () => files.sandbox.filesystem.remove(absolute, { recursive }));
}

/** Exit statuses of the rename script, each one outcome. */
const renameStatus = {
  missing: 40,
  parentMissing: 41,
  targetIsDirectory: 42,
  exists: 43,
  refused: 44,
} as const;

const renameScript = `{ [ -e "$1" ] || [ -L "$1" ]; } || exit ${renameStatus.missing}
[ "$1" = "$2" ] && exit 0
[ -d "$(dirname -- "$2")" ] || exit ${renameStatus.parentMissing}
[ -d "$2" ] && [ ! -L "$2" ] && exit ${renameStatus.targetIsDirectory}
if [ -d "$1" ] && [ ! -L "$1" ] && { [ -e "$2" ] || [ -L "$2" ]; }; then exit ${renameStatus.exists}; fi
mv -T -- "$1" "$2" 2>/dev/null || exit ${renameStatus.refused}`;

/** `renameFile` between absolute paths, replacing a file at the target. */
export async function renameModalFile(files: ModalFileContext, from: string, to: string): Promise<void> {
  const { providerId, operation } = files.context;
  if (to.startsWith(`${from}/`)) {
    throw new InvalidRequestError(`${operation}: cannot move a directory into itself`, { providerId });
  }
  const result = await runModalCommand({
    sandbox: files.sandbox,
    sdk: files.sdk,
    context: files.context,
    argv: ["sh", "-c", renameScript, "sandport-rename", from, to],
    cwd: modalWorkspaceRoot,
    maxOutputBytes: 4096,
  });
  const options = { providerId };
  switch (result.exitCode) {
    case 0:
      return;
    case renameStatus.missing:
      throw new NotFoundError(`${operation}: no such file or directory to rename`, options);
    case renameStatus.parentMissing:
      throw new NotFoundError(`${operation}: the target's parent directory does not exist`, options);
    case renameStatus.targetIsDirectory:
      throw new InvalidRequestError(
        `${operation}: the target is an existing directory (only a file is replaced)`,
        options,
      );
    case renameStatus.exists:
      throw new InvalidRequestError(
        `${operation}: a directory cannot replace the file at the target`,
        options,
      );
    default:
      throw new InvalidRequestError(
        `${operation}: the sandbox refused to rename it (exit status ${result.exitCode})`,
        options,
      );
  }
}
