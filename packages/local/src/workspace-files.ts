/**
 * File access confined to a sandbox's workspace. Paths are sandbox paths (relative to /workspace
 * or absolute under it). Symlinks and hard links that lead outside are refused: the final
 * component is opened with O_NOFOLLOW and the opened file's real path is checked afterwards, so
 * a link swapped in by a running command cannot redirect the host's read or write.
 */
import { constants } from "node:fs";
import { chown, lstat, mkdir, open, readlink, realpath } from "node:fs/promises";
import { join } from "node:path";
import { InvalidRequestError, NotFoundError, workspaceRelativePath } from "@sandport/core";

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(`${root}/`);
}

function systemCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

async function checkOpened(
  root: string,
  path: string,
  handle: import("node:fs/promises").FileHandle,
): Promise<void> {
  const actual = await readlink(`/proc/self/fd/${handle.fd}`);
  if (!isInside(root, actual)) {
    throw new InvalidRequestError(`path "${path}" leads outside the sandbox workspace`);
  }
  const stats = await handle.stat();
  if (!stats.isFile()) throw new InvalidRequestError(`path "${path}" is not a regular file`);
  if (stats.nlink > 1) throw new InvalidRequestError(`path "${path}" is a hard link; refused`);
}

/** Reads a workspace file. */
export async function readWorkspaceFile(root: string, path: string): Promise<Uint8Array> {
  const relative = workspaceRelativePath(path);
  let handle: import("node:fs/promises").FileHandle;
  try {
    handle = await open(join(root, relative), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = systemCode(error);
    if (code === "ENOENT" || code === "ENOTDIR")
      throw new NotFoundError(`no such file: ${path}`, { cause: error });
    if (code === "ELOOP")
      throw new InvalidRequestError(`path "${path}" is a symbolic link; refused`, { cause: error });
    throw error;
  }
  try {
    await checkOpened(root, path, handle);
    return new Uint8Array(await handle.readFile());
  } finally {
    await handle.close();
  }
}

/** Creates the parent directories of `relative`, refusing symlinks that lead outside. */
async function ensureParents(
  root: string,
  path: string,
  relative: string,
  owner: number | undefined,
): Promise<void> {
  const parts = relative.split("/").slice(0, -1);
  let current = root;
  for (const part of parts) {
    current = join(current, part);
    let stats: Awaited<ReturnType<typeof lstat>> | undefined;
    try {
      stats = await lstat(current);
    } catch (error) {
      if (systemCode(error) !== "ENOENT") throw error;
    }
    if (stats === undefined) {
      await mkdir(current, { mode: 0o755 });
      if (owner !== undefined) await chown(current, owner, owner);
    } else if (stats.isSymbolicLink()) {
      const target = await realpath(current).catch(() => "");
      if (!isInside(root, target))
        throw new InvalidRequestError(`path "${path}" leads outside the sandbox workspace`);
      current = target;
    } else if (!stats.isDirectory()) {
      throw new InvalidRequestError(`path "${path}": ${part} is not a directory`);
    }
  }
}

/** Writes a workspace file, creating parent directories; files belong to `owner` when set. */
export async function writeWorkspaceFile(
  root: string,
  path: string,
  data: Uint8Array | string,
  owner: number | undefined,
): Promise<void> {
  const relative = workspaceRelativePath(path);
  await ensureParents(root, path, relative, owner);
  let handle: import("node:fs/promises").FileHandle;
  try {
    // No O_TRUNC: the target is checked before anything in it is changed.
    handle = await open(
      join(root, relative),
      constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW,
      0o644,
    );
  } catch (error) {
    if (systemCode(error) === "ELOOP") {
      throw new InvalidRequestError(`path "${path}" is a symbolic link; refused`, { cause: error });
    }
    if (systemCode(error) === "EISDIR")
      throw new InvalidRequestError(`path "${path}" is a directory`, { cause: error });
    throw error;
  }
  try {
    await checkOpened(root, path, handle);
    await handle.truncate(0);
    await handle.writeFile(data);
    if (owner !== undefined) await handle.chown(owner, owner);
  } finally {
    await handle.close();
  }
}
