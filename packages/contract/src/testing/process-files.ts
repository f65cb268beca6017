/**
 * The directory calls of the process provider: host file system calls confined to the sandbox's
 * workspace directory (its commands run unisolated, so host paths are the sandbox's own paths).
 */
import { lstat, mkdir, readdir, realpath, rename, rm, rmdir } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import {
  type FileInfo,
  InvalidRequestError,
  NotFoundError,
  OutputLimitError,
  type SandportError,
} from "@sandport/core";
import { hostFileInfo } from "@sandport/core/node";

function errorFor(error: unknown, path: string, providerId: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const options = { cause: error, providerId };
  const quoted = JSON.stringify(path);
  const known: Record<string, () => SandportError> = {
    ENOENT: () => new NotFoundError(`${quoted} does not exist`, options),
    ENOTDIR: () => new InvalidRequestError(`${quoted}: not a directory`, options),
    EEXIST: () => new InvalidRequestError(`${quoted} already exists`, options),
    ENOTEMPTY: () => new InvalidRequestError(`${quoted} is a directory that is not empty`, options),
    EISDIR: () => new InvalidRequestError(`${quoted} is a directory`, options),
  };
  return code !== undefined && code in known ? (known[code] as () => SandportError)() : error;
}

/** The file calls of one process-provider sandbox. */
export function processFiles(workspace: string, providerId: string) {
  /** The host path of `path`, refusing what lies outside the workspace, by `..` or through a link. */
  async function inside(path: string): Promise<string> {
    const target = resolve(workspace, path);
    if (target === workspace) return target;
    // The parent is resolved through links; the last component is not (calls act on a link itself).
    const parent = await realpath(dirname(target)).catch(() => dirname(target));
    const relation = relative(workspace, parent);
    if (relation === ".." || relation.startsWith("../") || isAbsolute(relation)) {
      throw new InvalidRequestError(`path "${path}" is outside the sandbox's workspace`, { providerId });
    }
    return join(parent, basename(target));
  }

  const describe = (host: string) => hostFileInfo(host);

  /** Runs `action` on the host path of `path`, mapping errno codes to the spec's. */
  async function on<T>(path: string, action: (host: string) => Promise<T>): Promise<T> {
    try {
      return await action(await inside(path));
    } catch (error) {
      throw errorFor(error, path, providerId);
    }
  }

  return {
    listFiles: (path: string, recursive: boolean, maxEntries: number) =>
      on(path, async (root) => {
        if (!(await lstat(root)).isDirectory()) {
          throw new InvalidRequestError(`"${path}" is not a directory`, { providerId });
        }
        const entries: FileInfo[] = [];
        const pending = [root];
        while (pending.length > 0) {
          const directory = pending.shift() as string;
          for (const name of await readdir(directory)) {
            if (entries.length === maxEntries) {
              throw new OutputLimitError(`"${path}" holds more than ${maxEntries} entries`, { providerId });
            }
            const info = await describe(join(directory, name));
            entries.push(info);
            if (recursive && info.type === "directory") pending.push(info.path);
          }
        }
        return entries;
      }),
    statFile: (path: string) => on(path, describe),
    makeDirectory: (path: string, recursive: boolean) =>
      on(path, async (host) => {
        await mkdir(host, { recursive });
      }),
    removeFile: (path: string, recursive: boolean) =>
      on(path, async (host) => {
        if (host === workspace)
          throw new InvalidRequestError("the workspace itself cannot be removed", { providerId });
        const stats = await lstat(host);
        if (stats.isDirectory() && !recursive) await rmdir(host);
        else await rm(host, { recursive });
      }),
    renameFile: (from: string, to: string) =>
      on(from, async (source) => {
        await rename(source, await inside(to));
      }),
  };
}
