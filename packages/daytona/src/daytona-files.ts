/** The files API of a Daytona sandbox, through the SDK's `FileSystem` (the toolbox's `/files` routes). */
import type { FileInfo as DaytonaFileInfo, Sandbox as DaytonaSandbox } from "@daytonaio/sdk";
import {
  type FileInfo,
  InvalidRequestError,
  NotFoundError,
  OutputLimitError,
  type SandportError,
} from "@sandport/core";
import { errorFromDaytona } from "./daytona-errors.ts";
import { absoluteFrom } from "./daytona-request-mapping.ts";

/** What the file calls share. */
export interface DaytonaFileContext {
  sandbox: DaytonaSandbox;
  providerId: string;
  /** The sandbox's working directory (absolute), for the absolute paths `FileInfo` reports. */
  workingDirectory: () => Promise<string>;
}

/** Calls the SDK, mapping its failure. */
async function call<T>(
  context: DaytonaFileContext,
  operation: string,
  promise: () => Promise<T>,
): Promise<T> {
  try {
    return await promise();
  } catch (error) {
    throw errorFromDaytona(error, { providerId: context.providerId, operation });
  }
}

/** Whether `error` is sandport's not_found. */
function isNotFound(error: unknown): error is SandportError {
  return NotFoundError.isInstance(error);
}

/**
 * The type of an entry from the daemon's mode string (Go's `FileMode.String()`: `d` directory, `L`
 * symbolic link, `-` regular file; others are devices, pipes and sockets).
 */
function typeOf(info: DaytonaFileInfo): FileInfo["type"] {
  const kind = typeof info.mode === "string" ? info.mode.charAt(0) : "";
  if (kind === "L") return "symlink";
  if (kind === "d" || (kind === "" && info.isDir)) return "directory";
  if (kind === "-") return "file";
  return info.isDir ? "directory" : "other";
}

function modifiedAtOf(info: DaytonaFileInfo): Date {
  for (const candidate of [info.modifiedAt, info.modTime]) {
    if (typeof candidate !== "string") continue;
    const parsed = Date.parse(candidate);
    if (!Number.isNaN(parsed)) return new Date(parsed);
  }
  return new Date(0);
}

/** A daemon `FileInfo` as sandport's, at the absolute `path`. */
export function fileInfoOf(info: DaytonaFileInfo, path: string): FileInfo {
  return {
    name: info.name,
    path,
    type: typeOf(info),
    size: typeof info.size === "number" ? info.size : 0,
    modifiedAt: modifiedAtOf(info),
  };
}

/** Stats `path`; undefined when it does not exist. */
async function statOrMissing(
  context: DaytonaFileContext,
  path: string,
): Promise<DaytonaFileInfo | undefined> {
  try {
    return await call(context, "statFile", () => context.sandbox.fs.getFileDetails(path));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Reads a file (bulk download, multipart). */
export async function readDaytonaFile(context: DaytonaFileContext, path: string): Promise<Uint8Array> {
  const buffer = await call(context, "readFile", () => context.sandbox.fs.downloadFile(path));
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * Writes a file (bulk upload, multipart); the daemon creates parent directories. The path is looked
 * at only when the upload fails (one call on the common path): a directory there is `invalid_request`.
 */
export async function writeDaytonaFile(
  context: DaytonaFileContext,
  path: string,
  bytes: Uint8Array,
): Promise<void> {
  try {
    await call(context, "writeFile", () =>
      context.sandbox.fs.uploadFile(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), path),
    );
  } catch (error) {
    const code = (error as SandportError).code;
    if (code === "authentication" || code === "permission_denied" || code === "rate_limited") throw error;
    const info = await statOrMissing(context, path).catch(() => undefined);
    if (info !== undefined && typeOf(info) === "directory") {
      throw new InvalidRequestError(`writeFile: "${path}" is a directory`, {
        providerId: context.providerId,
        cause: error,
      });
    }
    throw error;
  }
}

/** Stats a file or directory. */
export async function statDaytonaFile(context: DaytonaFileContext, path: string): Promise<FileInfo> {
  const info = await call(context, "statFile", () => context.sandbox.fs.getFileDetails(path));
  return fileInfoOf(info, absoluteFrom(await context.workingDirectory(), path));
}

/** Lists a directory, recursing on the client side (the daemon's `depth` follows no documented order). */
export async function listDaytonaFiles(
  context: DaytonaFileContext,
  path: string,
  recursive: boolean,
  maxEntries: number,
): Promise<FileInfo[]> {
  const root = absoluteFrom(await context.workingDirectory(), path);
  const info = await call(context, "listFiles", () => context.sandbox.fs.getFileDetails(path));
  if (typeOf(info) !== "directory") {
    throw new InvalidRequestError(`listFiles: "${path}" is not a directory`, {
      providerId: context.providerId,
    });
  }
  const found: FileInfo[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const directory = pending.shift() as string;
    const entries = await call(context, "listFiles", () => context.sandbox.fs.listFiles(directory));
    for (const entry of entries) {
      const entryPath = `${directory === "/" ? "" : directory}/${entry.name}`;
      const described = fileInfoOf(entry, entryPath);
      found.push(described);
      if (found.length > maxEntries) {
        throw new OutputLimitError(`listFiles: more than ${maxEntries} entries under "${path}"`, {
          providerId: context.providerId,
        });
      }
      if (recursive && described.type === "directory") pending.push(entryPath);
    }
  }
  return found;
}

/** Makes a directory with the spec's semantics over the daemon's create-all-parents folder call. */
export async function makeDaytonaDirectory(
  context: DaytonaFileContext,
  path: string,
  recursive: boolean,
): Promise<void> {
  const providerId = context.providerId;
  const existing = await statOrMissing(context, path);
  if (existing !== undefined) {
    if (recursive && typeOf(existing) === "directory") return;
    throw new InvalidRequestError(`makeDirectory: "${path}" already exists`, { providerId });
  }
  if (!recursive) {
    const absolute = absoluteFrom(await context.workingDirectory(), path);
    const parent = absolute.slice(0, absolute.lastIndexOf("/")) || "/";
    const parentInfo = await statOrMissing(context, parent);
    if (parentInfo === undefined) {
      throw new NotFoundError(`makeDirectory: the parent of "${path}" does not exist`, { providerId });
    }
    if (typeOf(parentInfo) !== "directory") {
      throw new InvalidRequestError(`makeDirectory: the parent of "${path}" is not a directory`, {
        providerId,
      });
    }
  }
  await call(context, "makeDirectory", () => context.sandbox.fs.createFolder(path, "755"));
}

/** Removes a file, link or directory (a non-empty directory only with `recursive`). */
export async function removeDaytonaFile(
  context: DaytonaFileContext,
  path: string,
  recursive: boolean,
): Promise<void> {
  const info = await call(context, "removeFile", () => context.sandbox.fs.getFileDetails(path));
  const isDirectory = typeOf(info) === "directory";
  if (isDirectory && !recursive) {
    const entries = await call(context, "removeFile", () => context.sandbox.fs.listFiles(path));
    if (entries.length > 0) {
      throw new InvalidRequestError(`removeFile: "${path}" is a non-empty directory (pass recursive)`, {
        providerId: context.providerId,
      });
    }
  }
  await call(context, "removeFile", () => context.sandbox.fs.deleteFile(path, isDirectory));
}

/** Renames or moves a file or directory. */
export async function renameDaytonaFile(
  context: DaytonaFileContext,
  from: string,
  to: string,
): Promise<void> {
  await call(context, "renameFile", () => context.sandbox.fs.getFileDetails(from));
  await call(context, "renameFile", () => context.sandbox.fs.moveFiles(from, to));
}
