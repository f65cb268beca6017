/**
 * The directory calls of an `isolation: "none"` sandbox: plain host file system calls in the
 * workspace (development only; there is no boundary to keep).
 */
import { lstat, mkdir, readdir, rename, rm, rmdir } from "node:fs/promises";
import { join, posix } from "node:path";
import {
  type FileInfo,
  InvalidRequestError,
  NotFoundError,
  OutputLimitError,
  workspaceMountPath,
} from "@sandport/core";
import { hostFileInfo } from "@sandport/core/node";

/** Host path of a sandbox path: /workspace stands for the workspace directory. */
export function hostPath(workspace: string, path: string): string {
  const absolute = posix.normalize(posix.isAbsolute(path) ? path : posix.join(workspaceMountPath, path));
  if (absolute !== workspaceMountPath && !absolute.startsWith(`${workspaceMountPath}/`)) {
    throw new InvalidRequestError(`"${path}" is outside the workspace of an unisolated sandbox`);
  }
  return join(workspace, absolute.slice(workspaceMountPath.length));
}

function sandboxPath(workspace: string, host: string): string {
  return posix.join(workspaceMountPath, host.slice(workspace.length));
}

/** Maps Node's errno codes to the spec's vocabulary. */
export function fileSystemError(error: unknown, path: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const quoted = JSON.stringify(path);
  if (code === "ENOENT") return new NotFoundError(`${quoted} does not exist`, { cause: error });
  if (code === "ENOTDIR") return new InvalidRequestError(`${quoted}: not a directory`, { cause: error });
  if (code === "EEXIST") return new InvalidRequestError(`${quoted} already exists`, { cause: error });
  if (code === "ENOTEMPTY") return new InvalidRequestError(`${quoted} is not empty`, { cause: error });
  if (code === "EISDIR") return new InvalidRequestError(`${quoted} is a directory`, { cause: error });
  return error;
}

function describe(workspace: string, host: string): Promise<FileInfo> {
  return hostFileInfo(host, sandboxPath(workspace, host));
}

/** The file calls of one unisolated sandbox. */
export function unisolatedFiles(workspace: string) {
  return {
    async listFiles(path: string, recursive: boolean, maxEntries: number): Promise<FileInfo[]> {
      const root = hostPath(workspace, path);
      const entries: FileInfo[] = [];
      const pending = [root];
      try {
        if (!(await lstat(root)).isDirectory()) throw new InvalidRequestError(`"${path}" is not a directory`);
        while (pending.length > 0) {
          const directory = pending.shift() as string;
          for (const name of await readdir(directory)) {
            if (entries.length === maxEntries)
              throw new OutputLimitError(`"${path}" holds more than ${maxEntries} entries`);
            const info = await describe(workspace, join(directory, name));
            entries.push(info);
            if (recursive && info.type === "directory") pending.push(join(directory, name));
          }
        }
      } catch (error) {
        throw fileSystemError(error, path);
      }
      return entries;
    },
    async statFile(path: string): Promise<FileInfo> {
      return describe(workspace, hostPath(workspace, path)).catch((error: unknown) => {
        throw fileSystemError(error, path);
      });
    },
    async makeDirectory(path: string, recursive: boolean): Promise<void> {
      await mkdir(hostPath(workspace, path), { recursive }).catch((error: unknown) => {
        throw fileSystemError(error, path);
      });
    },
    async removeFile(path: string, recursive: boolean): Promise<void> {
      const host = hostPath(workspace, path);
      try {
        const stats = await lstat(host);
        if (stats.isDirectory() && !recursive) await rmdir(host);
        else await rm(host, { recursive });
      } catch (error) {
        throw fileSystemError(error, path);
      }
    },
    async renameFile(from: string, to: string): Promise<void> {
      await rename(hostPath(workspace, from), hostPath(workspace, to)).catch((error: unknown) => {
        throw fileSystemError(error, from);
      });
    },
  };
}
