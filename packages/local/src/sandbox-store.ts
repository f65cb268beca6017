/** Sandboxes on disk: one directory each, with a record file, so `connect` works across restarts. */
import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

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
}

/** Host paths of one sandbox. */
export function sandboxPaths(stateDirectory: string, vendorId: string) {
  const directory = join(stateDirectory, "sandboxes", vendorId);
  return {
    directory,
    workspace: join(directory, "workspace"),
    rootMountPoint: join(directory, "root"),
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

/** Removes a directory tree even where a sandboxed command made parts of it read-only. */
async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true, maxRetries: 2 });
  } catch {
    await makeWritable(path);
    await rm(path, { recursive: true, force: true, maxRetries: 2 });
  }
}

async function makeWritable(path: string): Promise<void> {
  const stats = await stat(path).catch(() => undefined);
  if (!stats?.isDirectory()) return;
  await chmod(path, 0o700).catch(() => {});
  for (const entry of await readdir(path).catch(() => [])) await makeWritable(join(path, entry));
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
    await mkdir(paths.rootMountPoint, { mode: 0o755 });
    if (owner !== undefined) await chown(paths.workspace, owner, owner);
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

  /** Whether the sandbox still exists. */
  async exists(vendorId: string): Promise<boolean> {
    return (
      (await stat(sandboxPaths(this.#stateDirectory, vendorId).record).catch(() => undefined)) !== undefined
    );
  }

  /** Deletes a sandbox's directory. Idempotent. */
  async remove(vendorId: string): Promise<void> {
    if (!isLocalVendorId(vendorId)) return;
    const paths = sandboxPaths(this.#stateDirectory, vendorId);
    // The record goes first, so a half-removed sandbox already counts as gone.
    await rm(paths.record, { force: true });
    await removeTree(paths.directory);
  }

  /** All records. */
  async *records(): AsyncGenerator<SandboxRecord> {
    const entries = await readdir(join(this.#stateDirectory, "sandboxes")).catch(() => [] as string[]);
    for (const vendorId of entries) {
      const record = await this.read(vendorId);
      if (record !== undefined) yield record;
    }
  }

  /** Removes sandboxes whose ttl ran out (a crashed process leaves them behind). */
  async reapExpired(now = Date.now()): Promise<number> {
    let reaped = 0;
    for await (const record of this.records()) {
      if (record.expiresAt !== undefined && record.expiresAt <= now) {
        await this.remove(record.vendorId);
        reaped++;
      }
    }
    return reaped;
  }
}
