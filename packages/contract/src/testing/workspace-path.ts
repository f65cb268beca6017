/** Maps a sandbox path onto the sandbox's workspace directory, refusing anything outside it. */
import { mkdir, realpath } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { InvalidRequestError, NotFoundError } from "@sandport/core";

/** True when `target` is `workspace` itself or below it. */
function isInside(workspace: string, target: string): boolean {
  const path = relative(workspace, target);
  return path === "" || (path !== ".." && !path.startsWith("../") && !isAbsolute(path));
}

function outside(path: string, providerId: string): InvalidRequestError {
  return new InvalidRequestError(`path "${path}" is outside the sandbox's workspace`, { providerId });
}

/** Resolves `path` (relative to the workspace, or absolute inside it) without touching the disk. */
export function resolveWorkspacePath(workspace: string, path: string, providerId: string): string {
  if (path === "" || path.includes("\0")) {
    throw new InvalidRequestError("a file path must be a non-empty string without NUL", { providerId });
  }
  const target = resolve(workspace, path);
  if (target === workspace || !isInside(workspace, target)) throw outside(path, providerId);
  return target;
}

/** Resolves a file to read; a symlink pointing out of the workspace counts as outside. */
export async function resolveReadPath(workspace: string, path: string, providerId: string): Promise<string> {
  const target = resolveWorkspacePath(workspace, path, providerId);
  let real: string;
  try {
    real = await realpath(target);
  } catch (error) {
    if (
      (error as NodeJS.ErrnoException).code === "ENOENT" ||
      (error as NodeJS.ErrnoException).code === "ENOTDIR"
    ) {
      throw new NotFoundError(`no file "${path}" in the sandbox`, { cause: error, providerId });
    }
    throw error;
  }
  if (!isInside(workspace, real)) throw outside(path, providerId);
  return real;
}

/** Resolves a file to write and creates its parent directories, never through a symlink that leaves. */
export async function resolveWritePath(workspace: string, path: string, providerId: string): Promise<string> {
  const target = resolveWorkspacePath(workspace, path, providerId);
  const parent = dirname(target);
  // Check the deepest existing ancestor first, so mkdir cannot create directories outside.
  let existing = parent;
  for (;;) {
    try {
      if (!isInside(workspace, await realpath(existing))) throw outside(path, providerId);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      existing = dirname(existing);
    }
  }
  await mkdir(parent, { recursive: true });
  if (!isInside(workspace, await realpath(parent))) throw outside(path, providerId);
  return target;
}
