/**
 * Checks of the file calls' arguments (`listFiles`, `statFile`, `makeDirectory`, `removeFile`,
 * `renameFile`) shared by both Cloudflare providers: paths follow the workspace rules of
 * `readFile`, except that the workspace itself may be named; a bad argument is
 * `InvalidRequestError` naming its field.
 */
import {
  type CallOptions,
  defaultMaxListEntries,
  type FileInfo,
  InvalidRequestError,
  normalizeAbsolutePath,
  workspaceMountPath,
  workspaceRelativePath,
} from "@sandport/core";

/**
 * A sandbox path as a path relative to the workspace, `""` for the workspace itself. Relative paths
 * resolve against the workspace; anything outside it is refused, naming `field`.
 */
export function workspaceEntryPath(path: unknown, field: string, providerId: string): string {
  if (typeof path !== "string" || path === "" || path.includes("\0")) {
    throw new InvalidRequestError(`${field}: must be a non-empty string without NUL`, { providerId });
  }
  const absolute = normalizeAbsolutePath(path.startsWith("/") ? path : `${workspaceMountPath}/${path}`);
  if (absolute === workspaceMountPath) return "";
  try {
    return workspaceRelativePath(absolute);
  } catch (error) {
    if (!InvalidRequestError.isInstance(error)) throw error;
    throw new InvalidRequestError(
      `${field}: "${path}" is outside the sandbox workspace (${workspaceMountPath})`,
      { providerId },
    );
  }
}

/** The absolute sandbox path of a workspace-relative one. */
export function absoluteWorkspacePath(relative: string): string {
  return relative === "" ? workspaceMountPath : `${workspaceMountPath}/${relative}`;
}

/** A `FileInfo` for a workspace-relative path. */
export function fileInfoOf(
  relative: string,
  type: FileInfo["type"],
  size: number,
  modifiedAt: Date,
): FileInfo {
  const path = absoluteWorkspacePath(relative);
  return { name: path.slice(path.lastIndexOf("/") + 1), path, type, size, modifiedAt };
}

function optionsObject(options: unknown, providerId: string): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidRequestError("options: must be an object", { providerId });
  }
  return options as Record<string, unknown>;
}

function recursiveOf(options: Record<string, unknown>, providerId: string): boolean {
  const { recursive } = options;
  if (recursive !== undefined && typeof recursive !== "boolean") {
    throw new InvalidRequestError("options.recursive: must be a boolean", { providerId });
  }
  return recursive === true;
}

/** The caller's signal, checked by type only (as every call's). */
function signalOf(options: Record<string, unknown>): AbortSignal | undefined {
  return options.signal as AbortSignal | undefined;
}

/** Checked options of `listFiles`. */
export interface ListFilesArguments {
  recursive: boolean;
  maxEntries: number;
  signal: AbortSignal | undefined;
}

/** Checks `listFiles` options; `maxEntries` defaults to core's {@link defaultMaxListEntries}. */
export function parseListFilesOptions(options: unknown, providerId: string): ListFilesArguments {
  const object = optionsObject(options, providerId);
  const { maxEntries } = object;
  if (
    maxEntries !== undefined &&
    (typeof maxEntries !== "number" || !Number.isSafeInteger(maxEntries) || maxEntries < 1)
  ) {
    throw new InvalidRequestError("options.maxEntries: must be a positive integer", { providerId });
  }
  return {
    recursive: recursiveOf(object, providerId),
    maxEntries: maxEntries ?? defaultMaxListEntries,
    signal: signalOf(object),
  };
}

/** Checked options of `makeDirectory` and `removeFile`. */
export interface RecursiveArguments {
  recursive: boolean;
  signal: AbortSignal | undefined;
}

/** Checks the options of `makeDirectory` / `removeFile`. */
export function parseRecursiveOptions(options: unknown, providerId: string): RecursiveArguments {
  const object = optionsObject(options, providerId);
  return { recursive: recursiveOf(object, providerId), signal: signalOf(object) };
}

/** Checks plain call options (`statFile`, `renameFile`). */
export function parseCallOptions(
  options: CallOptions | undefined,
  providerId: string,
): AbortSignal | undefined {
  return signalOf(optionsObject(options, providerId));
}
