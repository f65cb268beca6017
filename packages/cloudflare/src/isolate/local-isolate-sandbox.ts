/**
 * A sandbox of local mode. Its state (env, egress, files) lives in this process; each run sends
 * the files to any engine of the pool and takes the workspace back, so an engine that is killed or
 * crashes loses nothing but the run in flight, and any engine can serve any sandbox.
 */
import {
  AbortedError,
  type CallOptions,
  type ExecResult,
  encodeSandboxId,
  InvalidRequestError,
  NotFoundError,
  OutputLimitError,
  ProviderUnavailableError,
  type RunCodeOptions,
  SandboxFailedError,
  SandportError,
  throwIfAborted,
} from "@sandport/core";
import * as z from "zod";
import { errorFromIsolateWorkerAnswer } from "../cloudflare-isolate-errors.ts";
import {
  EngineLostError,
  EngineOverrunError,
  type EnginePool,
  EngineRunStoppedError,
  EngineWaitAbortedError,
} from "./engine-pool.ts";
import { IsolateSandbox } from "./isolate-sandbox.ts";
import type { ResolvedIsolateSettings } from "./isolate-settings.ts";
import type {
  IsolateWorkerEgress,
  IsolateWorkerExecuteBody,
  IsolateWorkerRunBody,
  IsolateWorkerRunResult,
} from "./isolate-worker-protocol.ts";
import {
  maxPathBytes,
  maxWorkspaceEntries,
  utf8Bytes,
  workspaceProblem,
  workspaceUsageBytes,
} from "./isolate-worker-protocol.ts";
import { execResultOf, isolateWorkerRunResultSchema, parseIsolateWorkerJson } from "./run-request.ts";
import {
  type EntryChanges,
  type EntryFailure,
  type StoredEntry,
  type WorkspaceEntry,
  WorkspaceIndex,
} from "./workspace-entries.ts";

/** What local mode keeps about one sandbox. */
export interface LocalSandboxState {
  vendorId: string;
  createdAt: number;
  labels: Record<string, string>;
  env: Record<string, string>;
  egress: IsolateWorkerEgress;
  files: Map<string, Uint8Array>;
  /** When each file was last written, ms since the epoch (absent: the sandbox's creation). */
  fileTimes: Map<string, number>;
  /**
   * Recorded directories (made by `makeDirectory`, created by `writeFile` or left by a run) and
   * when each was made, so an empty one exists, for the calls and for the code.
   */
  directories: Map<string, number>;
  /** Total size the files may take, bytes. */
  maxFilesBytes: number;
  /** Runs of one sandbox go one after another, so each sees the files the previous one left. */
  queue: Promise<unknown>;
  destroyed: boolean;
  /** Aborted by destroy: ends the run in progress (its engine is killed), as remote mode does. */
  readonly ended: AbortController;
}

/** Extra time past a run's timeout before its engine counts as stuck, ms. */
const engineGraceMs = 250;

const executeResultSchema = isolateWorkerRunResultSchema.extend({
  // Not z.record: it copies into a plain object, where a file named `__proto__` would vanish.
  files: z
    .custom<Record<string, string>>(
      (value) =>
        typeof value === "object" &&
        value !== null &&
        !Array.isArray(value) &&
        Object.values(value).every((text) => typeof text === "string"),
    )
    .nullish(),
  directories: z.array(z.string()).nullish(),
});

/** What the sandbox's files cost against its limit: contents and paths (see isolate-limits.ts). */
function usageOf(state: LocalSandboxState): number {
  return workspaceUsageBytes(state.files, state.directories.keys());
}

/** A local-mode sandbox handle. */
export class LocalIsolateSandbox extends IsolateSandbox {
  readonly #state: LocalSandboxState;
  /** The provider's engine pool (a new one after the provider was disposed). */
  readonly #pool: () => EnginePool;
  readonly #forget: (vendorId: string) => void;

  constructor(
    state: LocalSandboxState,
    settings: ResolvedIsolateSettings,
    pool: () => EnginePool,
    forget: (vendorId: string) => void,
  ) {
    super(encodeSandboxId(settings.providerId, state.vendorId), settings);
    this.#state = state;
    this.#pool = pool;
    this.#forget = forget;
  }

  #live(): LocalSandboxState {
    if (this.#state.destroyed) {
      throw new NotFoundError(`sandbox ${this.id} does not exist`, { providerId: this.settings.providerId });
    }
    return this.#state;
  }

  protected run(body: IsolateWorkerRunBody, options: RunCodeOptions): Promise<ExecResult> {
    const state = this.#live();
    const next = state.queue.then(() => this.#run(body, options));
    state.queue = next.catch(() => undefined);
    return next;
  }

  async #run(body: IsolateWorkerRunBody, options: RunCodeOptions): Promise<ExecResult> {
    const providerId = this.settings.providerId;
    throwIfAborted(options.signal, providerId);
    const state = this.#live();
    const mount = body.filesystem || state.files.size > 0 || state.directories.size > 0;
    const before = new Map(state.files);
    const directoriesBefore = new Set(state.directories.keys());
    // Null prototype: a file named `__proto__` is an own key like any other.
    const files: Record<string, string> = Object.create(null);
    if (mount) for (const [path, bytes] of state.files) files[path] = Buffer.from(bytes).toString("base64");
    const request: IsolateWorkerExecuteBody = {
      ...body,
      env: { ...state.env, ...body.env },
      egress: state.egress,
      files,
      ...(mount ? { directories: [...directoriesBefore] } : {}),
      maxFilesBytes: state.maxFilesBytes,
    };
    const reply = this.#pool().post("/v1/execute", JSON.stringify(request), {
      deadlineMs: body.timeoutMs + engineGraceMs,
      signal:
        options.signal === undefined
          ? state.ended.signal
          : AbortSignal.any([options.signal, state.ended.signal]),
    });
    let answer: Awaited<typeof reply>;
    try {
      answer = await abortable(reply, options.signal, providerId);
    } catch (error) {
      if (error instanceof EngineOverrunError) return overrunResult(body.timeoutMs);
      if (
        state.destroyed &&
        (error instanceof EngineRunStoppedError || error instanceof EngineWaitAbortedError)
      ) {
        return execResultOf(destroyedResult(), options, providerId);
      }
      if (error instanceof EngineRunStoppedError) {
        throw new AbortedError("runCode was aborted; its engine was stopped", { cause: error, providerId });
      }
      if (error instanceof EngineWaitAbortedError) {
        throw new AbortedError("runCode was aborted before it ran", { cause: error, providerId });
      }
      if (error instanceof EngineLostError) {
        // Engines serve one run at a time, so the engine died of this run (or was killed from
        // outside): running it again is the caller's choice.
        throw new SandboxFailedError(
          `${error.message}; the run did not complete and the sandbox's files are unchanged`,
          {
            providerId,
            cause: error,
            isRetryable: true,
          },
        );
      }
      if (SandportError.isInstance(error)) throw error;
      throw new ProviderUnavailableError("the local isolate engine (workerd) could not start", {
        providerId,
        cause: error,
      });
    }
    if (answer.status !== 200) {
      throw errorFromIsolateWorkerAnswer({
        status: answer.status,
        text: answer.text,
        what: "runCode (local isolate engine)",
        providerId,
      });
    }
    let result = parseIsolateWorkerJson(answer.text, executeResultSchema, providerId);
    if (result.files != null && !state.destroyed) {
      const after = new Map(
        Object.entries(result.files).map(([path, text]) => [path, Buffer.from(text, "base64")]),
      );
      // Checked again here, not trusted: the paths, `a` beside `a/b`, the entry count and the limit.
      const problem = workspaceProblem(after, result.directories ?? [], state.maxFilesBytes);
      if (problem !== undefined) {
        const notice = `sandport: ${problem}; the run's file changes were discarded\n`;
        result = {
          ...result,
          exitCode: result.exitCode === 0 ? 1 : result.exitCode,
          stderr: `${result.stderr}${notice}`,
          ...(result.output == null ? {} : { output: `${result.output}${notice}` }),
        };
        return execResultOf(result, options, providerId);
      }
      applyRunFiles(state, before, after, Date.now());
      applyRunDirectories(
        state,
        directoriesBefore,
        new Set(result.directories ?? directoriesBefore),
        Date.now(),
      );
    }
    return execResultOf(result, options, this.settings.providerId);
  }

  protected async readWorkspaceFile(relative: string, path: string): Promise<Uint8Array> {
    const state = this.#live();
    const bytes = state.files.get(relative);
    if (bytes === undefined) {
      const check = this.#index(state).checkReadable(relative);
      if (!check.ok) throw this.entryError(check);
      throw new NotFoundError(`no file "${path}" in the sandbox`, { providerId: this.settings.providerId });
    }
    return new Uint8Array(bytes);
  }

  /** Writes and file calls wait for runs in progress, so a run and a write never race past the limit. */
  #serialized<T>(work: () => T | Promise<T>): Promise<T> {
    const state = this.#live();
    const next = state.queue.then(work);
    state.queue = next.catch(() => undefined);
    return next;
  }

  protected writeWorkspaceFile(relative: string, bytes: Uint8Array, _options?: CallOptions): Promise<void> {
    return this.#serialized(() => this.#writeWorkspaceFile(relative, bytes));
  }

  #writeWorkspaceFile(relative: string, bytes: Uint8Array): void {
    const state = this.#live();
    this.#checkPathLength([relative]);
    // A file and a directory cannot share a path, as on a real filesystem.
    const plan = this.#index(state).planWrite(relative);
    if (!plan.ok) throw this.entryError(plan);
    const existing = state.files.get(relative);
    const added = plan.addDirectories.reduce((sum, path) => sum + utf8Bytes(path), 0);
    const total =
      usageOf(state) -
      (existing?.byteLength ?? 0) +
      bytes.byteLength +
      (existing === undefined ? utf8Bytes(relative) : 0) +
      added;
    const entries =
      state.files.size +
      state.directories.size +
      (existing === undefined ? 1 : 0) +
      plan.addDirectories.length;
    if (entries > maxWorkspaceEntries) {
      throw new OutputLimitError(
        `the sandbox would hold ${entries} files and directories, over the limit of ${maxWorkspaceEntries}`,
        { providerId: this.settings.providerId },
      );
    }
    if (total > state.maxFilesBytes) {
      // The same failure as the isolate Worker's 413 `files_too_large` in remote mode: one code.
      throw new OutputLimitError(
        `the sandbox's files would take ${total} bytes (contents and paths), over its limit of ${state.maxFilesBytes} bytes`,
        { providerId: this.settings.providerId },
      );
    }
    const now = Date.now();
    state.files.set(relative, new Uint8Array(bytes));
    state.fileTimes.set(relative, now);
    applyChanges(state, plan, now);
  }

  protected async listEntries(
    relative: string,
    recursive: boolean,
    maxEntries: number,
  ): Promise<WorkspaceEntry[]> {
    const listing = this.#index(this.#live()).list(relative, recursive, maxEntries);
    if (!listing.ok) throw this.entryError(listing);
    return listing.entries;
  }

  protected async statEntry(relative: string): Promise<WorkspaceEntry> {
    const entry = this.#index(this.#live()).stat(relative);
    if ("ok" in entry) throw this.entryError(entry);
    return entry;
  }

  protected makeEntryDirectory(relative: string, recursive: boolean): Promise<void> {
    return this.#change((index) => index.planMakeDirectory(relative, recursive));
  }

  protected removeEntry(relative: string, recursive: boolean): Promise<void> {
    return this.#change((index) => index.planRemove(relative, recursive));
  }

  protected renameEntry(from: string, to: string): Promise<void> {
    return this.#change((index) => index.planRename(from, to));
  }

  #change(plan: (index: WorkspaceIndex) => EntryChanges | EntryFailure): Promise<void> {
    return this.#serialized(() => this.#applyChange(plan));
  }

  #applyChange(plan: (index: WorkspaceIndex) => EntryChanges | EntryFailure): void {
    const state = this.#live();
    const changes = plan(this.#index(state));
    if (!changes.ok) throw this.entryError(changes);
    this.#checkPathLength([...changes.addDirectories, ...changes.moves.map((move) => move.to)]);
    // New directories count toward the limits too (a rename's longer paths are not counted).
    if (changes.addDirectories.length > 0) {
      const added = changes.addDirectories.reduce((sum, path) => sum + utf8Bytes(path), 0);
      const entries = state.files.size + state.directories.size + changes.addDirectories.length;
      if (entries > maxWorkspaceEntries || usageOf(state) + added > state.maxFilesBytes) {
        throw new OutputLimitError("the new directories would take the sandbox over its files limit", {
          providerId: this.settings.providerId,
        });
      }
    }
    applyChanges(state, changes, Date.now());
  }

  /** Paths are at most {@link maxPathBytes} long, as the isolate Worker requires in remote mode. */
  #checkPathLength(paths: readonly string[]): void {
    for (const path of paths) {
      if (utf8Bytes(path) > maxPathBytes) {
        throw new InvalidRequestError(`path: over ${maxPathBytes} bytes`, {
          providerId: this.settings.providerId,
        });
      }
    }
  }

  /** The workspace's entries now. */
  #index(state: LocalSandboxState): WorkspaceIndex {
    const stored: [string, StoredEntry][] = [];
    for (const [path, bytes] of state.files) {
      stored.push([
        path,
        { type: "file", size: bytes.byteLength, modifiedAt: state.fileTimes.get(path) ?? state.createdAt },
      ]);
    }
    for (const [path, modifiedAt] of state.directories) {
      stored.push([path, { type: "directory", size: 0, modifiedAt }]);
    }
    return new WorkspaceIndex(stored, state.createdAt);
  }

  async destroy(): Promise<void> {
    if (this.#state.destroyed) return;
    this.#state.destroyed = true;
    this.#state.ended.abort();
    this.#state.files.clear();
    this.#state.fileTimes.clear();
    this.#state.directories.clear();
    this.#forget(this.#state.vendorId);
  }
}

/** Applies a file call's changes to the sandbox's files; new directories are made at `now`. */
function applyChanges(state: LocalSandboxState, changes: EntryChanges, now: number): void {
  for (const path of changes.deleteFiles) {
    state.files.delete(path);
    state.fileTimes.delete(path);
  }
  for (const path of changes.deleteDirectories) state.directories.delete(path);
  for (const move of changes.moves) {
    if (move.type === "file") {
      const bytes = state.files.get(move.from);
      const time = state.fileTimes.get(move.from);
      state.files.delete(move.from);
      state.fileTimes.delete(move.from);
      if (bytes !== undefined) state.files.set(move.to, bytes);
      if (time !== undefined) state.fileTimes.set(move.to, time);
    } else {
      const time = state.directories.get(move.from);
      state.directories.delete(move.from);
      state.directories.set(move.to, time ?? now);
    }
  }
  for (const path of changes.addDirectories) {
    if (!state.directories.has(path)) state.directories.set(path, now);
  }
}

/**
 * Applies what a run did to the workspace (`before` -> `after`) to the current files: changed and
 * new files are written (modified at `now`), removed ones deleted, and a file written with
 * `writeFile` while the run went on is kept unless the run itself changed that path.
 */
function applyRunFiles(
  state: LocalSandboxState,
  before: ReadonlyMap<string, Uint8Array>,
  after: ReadonlyMap<string, Uint8Array>,
  now: number,
): void {
  const current = state.files;
  for (const [path, bytes] of before) {
    if (!after.has(path) && current.get(path) === bytes) {
      current.delete(path);
      state.fileTimes.delete(path);
    }
  }
  for (const [path, bytes] of after) {
    const previous = before.get(path);
    if (previous === undefined || Buffer.compare(previous, bytes) !== 0) {
      current.set(path, bytes);
      state.fileTimes.set(path, now);
    }
  }
}

/**
 * Applies the run's directories as {@link applyRunFiles} does its files: removed ones are
 * forgotten, new ones recorded, and a directory that now holds a file's path gives way to the file.
 */
function applyRunDirectories(
  state: LocalSandboxState,
  before: ReadonlySet<string>,
  after: ReadonlySet<string>,
  now: number,
): void {
  for (const path of before) if (!after.has(path)) state.directories.delete(path);
  for (const path of after)
    if (!before.has(path) && !state.directories.has(path)) state.directories.set(path, now);
  for (const path of state.directories.keys()) if (state.files.has(path)) state.directories.delete(path);
}

/** The result of a run whose engine had to be killed at its deadline. */
function overrunResult(timeoutMs: number): ExecResult {
  const stderr = `sandport: the code ran past its ${timeoutMs} ms timeout and was stopped\n`;
  return {
    exitCode: 124,
    stdout: "",
    stderr,
    output: stderr,
    truncated: false,
    timedOut: true,
    durationMs: timeoutMs + engineGraceMs,
  };
}

/** What a run ended by destroy answers: remote mode's answer. */
function destroyedResult(): IsolateWorkerRunResult {
  const stderr = "sandport: the sandbox was destroyed during the run\n";
  return {
    exitCode: 1,
    stdout: "",
    stderr,
    output: stderr,
    truncated: false,
    timedOut: false,
    durationMs: 0,
  };
}

/**
 * Rejects with `aborted` when `signal` fires, at once. The pool withdraws a run still waiting for an
 * engine, and kills the engine of one that runs.
 */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, providerId: string): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(new AbortedError("runCode was aborted", { cause: signal.reason, providerId }));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
