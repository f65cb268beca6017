/**
 * One sandbox in remote mode: a Durable Object that keeps the sandbox's settings and files and
 * runs its code. Runs of one sandbox are serialized by the object, so each sees the files the
 * previous one left. When its lifetime ends an alarm deletes everything.
 */
import { DurableObject } from "cloudflare:workers";
import type {
  IsolateWorkerCreateBody,
  IsolateWorkerEgress,
  IsolateWorkerFileEntry,
  IsolateWorkerFileList,
  IsolateWorkerRunBody,
  IsolateWorkerRunResult,
  IsolateWorkerSandboxInfo,
} from "../../src/isolate/isolate-worker-protocol.ts";
import {
  maxWorkspaceEntries,
  utf8Bytes,
  workspaceUsageBytes,
} from "../../src/isolate/isolate-worker-protocol.ts";
import type { EntryChanges, EntryFailure } from "../../src/isolate/workspace-entries.ts";
import { FileStore } from "./file-store.ts";
import { failed, type Outcome, succeeded } from "./outcome.ts";
import { type IsolateWorkerExports, runInIsolate, withChangesDiscarded } from "./run-in-isolate.ts";
import { sandboxIndex } from "./sandbox-index.ts";
import { defaultTenantId, type Tenant, tenantById } from "./tenants.ts";
import { type IsolateWorkerEnv, isolateWorkerLimits } from "./worker-env.ts";

/** What the object remembers about its sandbox. */
interface SandboxSettings {
  id: string;
  createdAt: number;
  expiresAt?: number;
  labels: Record<string, string>;
  env: Record<string, string>;
  egress: IsolateWorkerEgress;
  maxFilesBytes?: number;
  /** The tenant that created it; absent in sandboxes made before tenants existed (the default one). */
  tenant?: string;
}

const settingsKey = "settings";

const noSandbox = failed("not_found", "no such sandbox");

/** The Durable Object behind one sandbox. */
export class SandboxObject extends DurableObject<IsolateWorkerEnv> {
  readonly #files: FileStore;
  /**
   * Runs, writes, file calls and destroy wait for the previous one, so files change in order: a
   * write during a run cannot slip past the limit, and destroy lands after the run it interrupted.
   */
  #queue: Promise<unknown> = Promise.resolve();
  /** Id of the run in progress; its outbound requests go through only while it is this. */
  #liveRun: string | undefined;
  /** Ends the run in progress when the sandbox is destroyed, so destroy need not wait for it. */
  #runAbort: AbortController | undefined;

  constructor(state: DurableObjectState, env: IsolateWorkerEnv) {
    super(state, env);
    this.#files = new FileStore(state.storage.sql);
  }

  #settings(): Promise<SandboxSettings | undefined> {
    return this.ctx.storage.get<SandboxSettings>(settingsKey);
  }

  #filesLimit(settings: SandboxSettings): number {
    return Math.min(
      settings.maxFilesBytes ?? Number.POSITIVE_INFINITY,
      isolateWorkerLimits(this.env).maxFilesBytes,
    );
  }

  /** The tenant of a sandbox, with the deployment's current quotas for it. */
  #tenant(settings: SandboxSettings): Tenant {
    const id = settings.tenant ?? defaultTenantId;
    // A tenant since removed from the deployment keeps its name (for its index) and no quotas.
    return tenantById(this.env, id) ?? { id, deploymentToken: id === defaultTenantId, quotas: {} };
  }

  /**
   * Sets the sandbox up; called once, right after the isolate Worker chose its id, and refused when
   * the tenant already has as many live sandboxes as its quota allows.
   */
  async initialize(
    id: string,
    body: IsolateWorkerCreateBody,
    tenantId: string,
  ): Promise<Outcome<IsolateWorkerSandboxInfo>> {
    const createdAt = Date.now();
    const settings: SandboxSettings = {
      id,
      createdAt,
      labels: body.labels,
      env: body.env,
      egress: body.egress,
      tenant: tenantId,
      ...(body.maxFilesBytes === undefined ? {} : { maxFilesBytes: body.maxFilesBytes }),
      ...(body.ttlMs === undefined ? {} : { expiresAt: createdAt + body.ttlMs }),
    };
    const tenant = this.#tenant(settings);
    const admitted = await sandboxIndex(this.env, tenant).admit(infoOf(settings), tenant.quotas.maxSandboxes);
    if (!admitted.ok) return admitted;
    await this.ctx.storage.put(settingsKey, settings);
    if (settings.expiresAt !== undefined) await this.ctx.storage.setAlarm(settings.expiresAt);
    return succeeded(infoOf(settings));
  }

  /** Records the sandbox's new size with its tenant, unless that passes the tenant's storage quota. */
  async #reserveStorage(settings: SandboxSettings, bytes: number): Promise<Outcome<null>> {
    const tenant = this.#tenant(settings);
    const limit = tenant.quotas.maxStoredBytes;
    if (limit === undefined) return succeeded(null);
    return sandboxIndex(this.env, tenant).reserveStorage(settings.id, bytes, limit);
  }

  /** The most this sandbox's files may take in a run: its own limit, and its tenant's room left. */
  async #runFilesLimit(settings: SandboxSettings): Promise<number> {
    const own = this.#filesLimit(settings);
    const tenant = this.#tenant(settings);
    const limit = tenant.quotas.maxStoredBytes;
    if (limit === undefined) return own;
    return Math.min(own, await sandboxIndex(this.env, tenant).storageRoom(settings.id, limit));
  }

  /** The sandbox's public description. */
  async info(): Promise<Outcome<IsolateWorkerSandboxInfo>> {
    const settings = await this.#settings();
    return settings === undefined ? noSandbox : succeeded(infoOf(settings));
  }

  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Whether run `run` is still in progress: asked by the outbound gate before each request. */
  runIsLive(run: string): boolean {
    return this.#liveRun !== undefined && this.#liveRun === run;
  }

  /** Runs code against the sandbox's files, then keeps what the code left in the workspace. */
  run(body: IsolateWorkerRunBody): Promise<Outcome<IsolateWorkerRunResult>> {
    return this.#serialized(() => this.#run(body));
  }

  async #run(body: IsolateWorkerRunBody): Promise<Outcome<IsolateWorkerRunResult>> {
    const settings = await this.#settings();
    if (settings === undefined) return noSandbox;
    const mount = body.filesystem || !this.#files.isEmpty();
    const before = mount ? this.#files.readAll() : new Map<string, Uint8Array>();
    const directoriesBefore = mount ? this.#files.directories() : [];
    const runId = crypto.randomUUID();
    this.#liveRun = runId;
    const abort = new AbortController();
    this.#runAbort = abort;
    let outcome: Awaited<ReturnType<typeof runInIsolate>>;
    try {
      outcome = await runInIsolate(this.env.LOADER, this.ctx.exports as unknown as IsolateWorkerExports, {
        code: body.code,
        env: { ...settings.env, ...body.env },
        egress: settings.egress,
        timeoutMs: body.timeoutMs,
        maxOutputBytes: body.maxOutputBytes,
        process: body.process,
        files: mount ? before : undefined,
        directories: directoriesBefore,
        maxFilesBytes: await this.#runFilesLimit(settings),
        liveness: { sandbox: settings.id, run: runId },
        signal: abort.signal,
      });
    } finally {
      // Ended, timed out or failed: whatever the isolate still does reaches no network.
      if (this.#liveRun === runId) this.#liveRun = undefined;
      if (this.#runAbort === abort) this.#runAbort = undefined;
    }
    if (outcome.files === undefined) return succeeded(outcome.result);
    // Another of the tenant's sandboxes may have grown during the run: the total is checked again.
    const reserved = await this.#reserveStorage(
      settings,
      workspaceUsageBytes(outcome.files, outcome.directories ?? directoriesBefore),
    );
    if (!reserved.ok) return succeeded(withChangesDiscarded(outcome.result, reserved.message));
    this.#files.replaceAll(
      outcome.files,
      before,
      outcome.directories ?? directoriesBefore,
      directoriesBefore,
      Date.now(),
    );
    return succeeded(outcome.result);
  }

  /**
   * Writes one file (recording the parent directories it creates), refusing it where a directory
   * stands or a parent is a file, and when the sandbox would exceed its size limit.
   */
  writeFile(path: string, bytes: Uint8Array): Promise<Outcome<null>> {
    return this.#serialized(() => this.#writeFile(path, bytes));
  }

  async #writeFile(path: string, bytes: Uint8Array): Promise<Outcome<null>> {
    const settings = await this.#settings();
    if (settings === undefined) return noSandbox;
    const plan = this.#files.index(settings.createdAt).planWrite(path);
    if (!plan.ok) return failedEntry(plan);
    const limit = this.#filesLimit(settings);
    const usage = this.#files.usage();
    const existing = this.#files.sizeOf(path);
    const pathCost = existing === undefined ? utf8Bytes(path) : 0;
    const added = plan.addDirectories.reduce((sum, directory) => sum + utf8Bytes(directory), 0);
    const total = usage.bytes - (existing ?? 0) + bytes.byteLength + pathCost + added;
    const entries = usage.entries + (existing === undefined ? 1 : 0) + plan.addDirectories.length;
    if (entries > maxWorkspaceEntries) {
      return failed(
        "files_too_large",
        `the sandbox would hold ${entries} files and directories, over the limit of ${maxWorkspaceEntries}`,
      );
    }
    if (total > limit) {
      return failed(
        "files_too_large",
        `the sandbox's files would take ${total} bytes (contents and paths), over its limit of ${limit} bytes`,
      );
    }
    const reserved = await this.#reserveStorage(settings, total);
    if (!reserved.ok) return reserved;
    const now = Date.now();
    this.#files.write(path, bytes, now);
    this.#files.apply(plan, now);
    return succeeded(null);
  }

  /** One file's bytes; a directory is `invalid_request`. */
  async readFile(path: string): Promise<Outcome<Uint8Array>> {
    const settings = await this.#settings();
    if (settings === undefined) return noSandbox;
    const bytes = this.#files.read(path);
    if (bytes !== undefined) return succeeded(bytes);
    const check = this.#files.index(settings.createdAt).checkReadable(path);
    return check.ok ? failed("not_found", "no such file in the sandbox") : failedEntry(check);
  }

  /** What a directory holds: at most `maxEntries + 1` entries, sorted by path. */
  async listFiles(
    path: string,
    recursive: boolean,
    maxEntries: number,
  ): Promise<Outcome<IsolateWorkerFileList>> {
    const settings = await this.#settings();
    if (settings === undefined) return noSandbox;
    const listing = this.#files.index(settings.createdAt).list(path, recursive, maxEntries);
    return listing.ok ? succeeded({ entries: listing.entries }) : failedEntry(listing);
  }

  /** One entry. */
  async statFile(path: string): Promise<Outcome<IsolateWorkerFileEntry>> {
    const settings = await this.#settings();
    if (settings === undefined) return noSandbox;
    const entry = this.#files.index(settings.createdAt).stat(path);
    return "ok" in entry ? failedEntry(entry) : succeeded(entry);
  }

  /** Makes a directory. */
  makeDirectory(path: string, recursive: boolean): Promise<Outcome<null>> {
    return this.#change((index) => index.planMakeDirectory(path, recursive));
  }

  /** Removes a file or a directory. */
  removeFile(path: string, recursive: boolean): Promise<Outcome<null>> {
    return this.#change((index) => index.planRemove(path, recursive));
  }

  /** Renames a file or a directory. */
  renameFile(from: string, to: string): Promise<Outcome<null>> {
    return this.#change((index) => index.planRename(from, to));
  }

  #change(
    plan: (index: ReturnType<FileStore["index"]>) => EntryChanges | EntryFailure,
  ): Promise<Outcome<null>> {
    return this.#serialized(async () => {
      const settings = await this.#settings();
      if (settings === undefined) return noSandbox;
      const changes = plan(this.#files.index(settings.createdAt));
      if (!changes.ok) return failedEntry(changes);
      // New directories count toward the limits too (a rename's longer paths are not counted).
      if (changes.addDirectories.length > 0) {
        const usage = this.#files.usage();
        const limit = this.#filesLimit(settings);
        const added = changes.addDirectories.reduce((sum, path) => sum + utf8Bytes(path), 0);
        if (
          usage.entries + changes.addDirectories.length > maxWorkspaceEntries ||
          usage.bytes + added > limit
        ) {
          return failed("files_too_large", "the new directories would take the sandbox over its files limit");
        }
        const reserved = await this.#reserveStorage(settings, usage.bytes + added);
        if (!reserved.ok) return reserved;
      }
      this.#files.apply(changes, Date.now());
      return succeeded(null);
    });
  }

  /**
   * Deletes the sandbox and everything it stored. Idempotent. A run in progress loses its network
   * and ends at once (exit code 1, its file changes dropped), then the deletion follows it, so both
   * answer cleanly and destroy never waits for the run's timeout.
   */
  destroy(): Promise<void> {
    this.#liveRun = undefined;
    this.#runAbort?.abort();
    return this.#serialized(() => this.#destroy());
  }

  async #destroy(): Promise<void> {
    const settings = await this.#settings();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    if (settings !== undefined) await sandboxIndex(this.env, this.#tenant(settings)).remove(settings.id);
  }

  /** The sandbox's lifetime ended. */
  override async alarm(): Promise<void> {
    await this.destroy();
  }
}

function failedEntry(failure: EntryFailure): Outcome<never> {
  return failed(failure.code, failure.message);
}

function infoOf(settings: SandboxSettings): IsolateWorkerSandboxInfo {
  return {
    id: settings.id,
    createdAt: settings.createdAt,
    labels: settings.labels,
    ...(settings.expiresAt === undefined ? {} : { expiresAt: settings.expiresAt }),
  };
}
