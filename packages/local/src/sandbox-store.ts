/** Sandboxes on disk: one directory each, with a record file, so `connect` works across restarts. */

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chown, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { SandboxFailedError } from "@sandport/core";
import { findExecutable } from "./system-tools.ts";

/** What is kept about a sandbox. */
export interface SandboxRecord {
  vendorId: string;
  createdAt: number;
  /** Epoch ms after which the sandbox is destroyed (from `ttlMs`). */
  expiresAt?: number;
  labels: Record<string, string>;
  env: Record<string, string>;
  /** Egress "open" was requested (and allowed). */
  network: boolean;
  memoryMb: number;
  cpu?: number;
  /** Destroy began: the sandbox is gone for callers; its data may still await removal. */
  destroying?: boolean;
}

/** Host paths of one sandbox. */
export function sandboxPaths(stateDirectory: string, vendorId: string) {
  const directory = join(stateDirectory, "sandboxes", vendorId);
  return {
    directory,
    workspace: join(directory, "workspace"),
    rootMountPoint: join(directory, "root"),
    /** The workspace overlay's work directory (the workspace is its upper layer). */
    overlayWork: join(directory, "overlay-work"),
    record: join(directory, "sandbox.json"),
  };
}

const vendorIdPattern = /^[0-9a-f]{20}$/;

/** Whether `vendorId` could be one of ours (also keeps ids from naming other paths). */
export function isLocalVendorId(vendorId: string): boolean {
  return vendorIdPattern.test(vendorId);
}

/** Creates a fresh vendor id. */
export function newVendorId(): string {
  return randomBytes(10).toString("hex");
}

const runFile = promisify(execFile);

/**
 * Removes a directory tree whatever the sandbox did to it: any depth (past PATH_MAX, where
 * `fs.rm` fails), directories without permissions. Where `fs.rm` fails, coreutils (which walk
 * with openat and never follow links) run with a fixed environment and absolute paths.
 */
async function removeTree(path: string): Promise<void> {
  // Fast path; the sandbox's processes are gone by now, so nothing changes the tree meanwhile.
  if (
    await rm(path, { recursive: true, force: true }).then(
      () => true,
      () => false,
    )
  )
    return;
  const options = { env: { PATH: "/usr/bin:/bin", LC_ALL: "C" }, maxBuffer: 64 * 1024 };
  // Only root bypasses permissions; anyone else first gives itself back what the sandbox took away.
  if (process.getuid?.() !== 0) {
    await runFile(findExecutable("chmod") ?? "/bin/chmod", ["-R", "u+rwx", "--", path], options).catch(
      () => {},
    );
  }
  await runFile(findExecutable("rm") ?? "/bin/rm", ["-rf", "--one-file-system", "--", path], options);
}

/** The sandboxes directory of one provider state directory. */
export class SandboxStore {
  readonly #stateDirectory: string;

  constructor(stateDirectory: string) {
    this.#stateDirectory = stateDirectory;
  }

  /** Creates the directories and files of a new sandbox. `owner` (root only) owns the workspace. */
  async create(record: SandboxRecord, owner: number | undefined): Promise<void> {
    const paths = sandboxPaths(this.#stateDirectory, record.vendorId);
    await mkdir(paths.directory, { recursive: true, mode: 0o711 });
    await mkdir(paths.workspace, { mode: 0o700 });
    await mkdir(paths.overlayWork, { mode: 0o700 });
    await mkdir(paths.rootMountPoint, { mode: 0o755 });
    if (owner !== undefined) {
      await chown(paths.workspace, owner, owner);
      await chown(paths.overlayWork, owner, owner);
    }
    // The record holds the sandbox's env, which may carry secrets: owner-only.
    await writeFile(paths.record, JSON.stringify(record), { mode: 0o600 });
  }

  /** The record of a sandbox, or undefined when it does not exist. */
  async read(vendorId: string): Promise<SandboxRecord | undefined> {
    if (!isLocalVendorId(vendorId)) return undefined;
    try {
      return JSON.parse(
        await readFile(sandboxPaths(this.#stateDirectory, vendorId).record, "utf8"),
      ) as SandboxRecord;
    } catch {
      return undefined;
    }
  }

  /** Whether the sandbox still exists (one being destroyed does not). */
  async exists(vendorId: string): Promise<boolean> {
    const record = await this.read(vendorId);
    return record !== undefined && record.destroying !== true;
  }

  /**
   * Deletes a sandbox's data, then its record. Idempotent. When the data cannot be removed the
   * record stays, marked `destroying`, so a later `reapExpired` tries again.
   */
  async remove(vendorId: string): Promise<void> {
    if (!isLocalVendorId(vendorId)) return;
    const paths = sandboxPaths(this.#stateDirectory, vendorId);
    const record = await this.read(vendorId);
    if (record !== undefined && record.destroying !== true) {
      await writeFile(paths.record, JSON.stringify({ ...record, destroying: true }), { mode: 0o600 });
    }
    try {
      await removeTree(paths.workspace);
      await removeTree(paths.overlayWork);
    } catch (error) {
      throw new SandboxFailedError(`the sandbox's files could not be removed; they stay for a later reap`, {
        cause: error,
      });
    }
    await rm(paths.directory, { recursive: true, force: true });
  }

  /** All records. */
  async *records(): AsyncGenerator<SandboxRecord> {
    const entries = await readdir(join(this.#stateDirectory, "sandboxes")).catch(() => [] as string[]);
    for (const vendorId of entries) {
      const record = await this.read(vendorId);
      if (record !== undefined) yield record;
    }
  }

  /** Removes sandboxes whose ttl ran out or whose destroy did not finish (a crashed process leaves them). */
  async reapExpired(now = Date.now()): Promise<number> {
    let reaped = 0;
    for await (const record of this.records()) {
      if (record.destroying === true || (record.expiresAt !== undefined && record.expiresAt <= now)) {
        await this.remove(record.vendorId).catch(() => {});
        reaped++;
      }
    }
    return reaped;
  }
}
