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
import type { EntryChanges, EntryFailure } from "../../src/isolate/workspace-entries.ts";
import { FileStore } from "./file-store.ts";
import { enforceFilesLimit } from "./files-limit.ts";
import { failed, type Outcome, succeeded } from "./outcome.ts";
import { type IsolateWorkerExports, runInIsolate } from "./run-in-isolate.ts";
import { sandboxIndex } from "./sandbox-index.ts";
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
}

const settingsKey = "settings";

const noSandbox = failed("not_found", "no such sandbox");

/** The Durable Object behind one sandbox. */
export class SandboxObject extends DurableObject<IsolateWorkerEnv> {
  readonly #files: FileStore;
  /** Runs wait for the previous one, so files change in order. */
  #queue: Promise<unknown> = Promise.resolve();

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

  /** Sets the sandbox up; called once, right after the isolate Worker chose its id. */
  async initialize(id: string, body: IsolateWorkerCreateBody): Promise<IsolateWorkerSandboxInfo> {
    const createdAt = Date.now();
    const settings: SandboxSettings = {
      id,
      createdAt,
      labels: body.labels,
      env: body.env,
      egress: body.egress,
      ...(body.maxFilesBytes === undefined ? {} : { maxFilesBytes: body.maxFilesBytes }),
      ...(body.ttlMs === undefined ? {} : { expiresAt: createdAt + body.ttlMs }),
    };
    await this.ctx.storage.put(settingsKey, settings);
    if (settings.expiresAt !== undefined) await this.ctx.storage.setAlarm(settings.expiresAt);
    await sandboxIndex(this.env).add(infoOf(settings));
    return infoOf(settings);
  }

  /** The sandbox's public description. */
  async info(): Promise<Outcome<IsolateWorkerSandboxInfo>> {
    const settings = await this.#settings();
    return settings === undefined ? noSandbox : succeeded(infoOf(settings));
  }

  /** Runs code against the sandbox's files, then keeps what the code left in the workspace. */
  run(body: IsolateWorkerRunBody): Promise<Outcome<IsolateWorkerRunResult>> {
    const next = this.#queue.then(() => this.#run(body));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #run(body: IsolateWorkerRunBody): Promise<Outcome<IsolateWorkerRunResult>> {
    const settings = await this.#settings();
    if (settings === undefined) return noSandbox;
    const mount = body.filesystem || !this.#files.isEmpty();
    const before = mount ? this.#files.readAll() : {};
    const directoriesBefore = mount ? this.#files.directories() : [];
    const outcome = await runInIsolate(this.env.LOADER, this.ctx.exports as unknown as IsolateWorkerExports, {
      code: body.code,
      env: { ...settings.env, ...body.env },
      egress: settings.egress,
      timeoutMs: body.timeoutMs,
      maxOutputBytes: body.maxOutputBytes,
      process: body.process,
      files: mount ? before : undefined,
      directories: directoriesBefore,
    });
    if (outcome.files === undefined) return succeeded(outcome.result);
    const checked = enforceFilesLimit(outcome.result, outcome.files, this.#filesLimit(settings));
    if (checked.keep) {
      this.#files.replaceAll(
        outcome.files,
        before,
        outcome.directories ?? directoriesBefore,
        directoriesBefore,
        Date.now(),
      );
    }
    return succeeded(checked.result);
  }

  /**
   * Writes one file (recording the parent directories it creates), refusing it where a directory
   * stands or a parent is a file, and when the sandbox would exceed its size limit.
   */
  async writeFile(path: string, bytes: Uint8Array): Promise<Outcome<null>> {
    const settings = await this.#settings();
    if (settings === undefined) return noSandbox;
    const plan = this.#files.index(settings.createdAt).planWrite(path);
    if (!plan.ok) return failedEntry(plan);
    const limit = this.#filesLimit(settings);
    const total = this.#files.totalBytes() - this.#files.sizeOf(path) + bytes.byteLength;
    if (total > limit) {
      return failed(
        "files_too_large",
        `the sandbox's files would take ${total} bytes, over its limit of ${limit} bytes`,
      );
    }
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

  async #change(
    plan: (index: ReturnType<FileStore["index"]>) => EntryChanges | EntryFailure,
  ): Promise<Outcome<null>> {
    const settings = await this.#settings();
    if (settings === undefined) return noSandbox;
    const changes = plan(this.#files.index(settings.createdAt));
    if (!changes.ok) return failedEntry(changes);
    this.#files.apply(changes, Date.now());
    return succeeded(null);
  }

  /** Deletes the sandbox and everything it stored. Idempotent. */
  async destroy(): Promise<void> {
    const settings = await this.#settings();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    if (settings !== undefined) await sandboxIndex(this.env).remove(settings.id);
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
