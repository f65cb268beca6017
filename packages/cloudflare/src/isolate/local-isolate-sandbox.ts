/**
 * A sandbox of local mode. Its state (env, egress, files) lives in this process; each run sends
 * the files to any engine of the pool and takes the workspace back, so an engine that is killed or
 * crashes loses nothing but the run in flight, and any engine can serve any sandbox.
 */
import {
  AbortedError,
  type CallOptions,
  type ExecResult,
  InvalidRequestError,
  NotFoundError,
  ProviderUnavailableError,
  QuotaExceededError,
  type RunCodeOptions,
  SandboxFailedError,
  SandportError,
  throwIfAborted,
} from "@sandport/core";
import { z } from "zod";
import { bridgeResponseError } from "../cloudflare-isolate-errors.ts";
import type { BridgeEgress, BridgeExecuteBody, BridgeRunBody } from "./bridge-protocol.ts";
import {
  EngineLostError,
  EngineOverrunError,
  type EnginePool,
  EngineWaitAbortedError,
} from "./engine-pool.ts";
import { IsolateSandbox } from "./isolate-sandbox.ts";
import type { ResolvedIsolateSettings } from "./isolate-settings.ts";
import { bridgeRunResultSchema, execResultOf, parseBridgeJson } from "./run-request.ts";

/** What local mode keeps about one sandbox. */
export interface LocalSandboxState {
  vendorId: string;
  createdAt: number;
  labels: Record<string, string>;
  env: Record<string, string>;
  egress: BridgeEgress;
  files: Map<string, Uint8Array>;
  /** Total size the files may take, bytes. */
  maxFilesBytes: number;
  /** Runs of one sandbox go one after another, so each sees the files the previous one left. */
  queue: Promise<unknown>;
  destroyed: boolean;
}

/** Extra time past a run's timeout before its engine counts as stuck, ms. */
const engineGraceMs = 250;

const executeResultSchema = bridgeRunResultSchema.extend({
  files: z.record(z.string(), z.string()).nullish(),
});

function totalBytes(files: Iterable<Uint8Array>): number {
  let total = 0;
  for (const bytes of files) total += bytes.byteLength;
  return total;
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
    super(`${settings.providerId}:${state.vendorId}`, settings);
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

  protected run(body: BridgeRunBody, options: RunCodeOptions): Promise<ExecResult> {
    const state = this.#live();
    const next = state.queue.then(() => this.#run(body, options));
    state.queue = next.catch(() => undefined);
    return next;
  }

  async #run(body: BridgeRunBody, options: RunCodeOptions): Promise<ExecResult> {
    const providerId = this.settings.providerId;
    throwIfAborted(options.signal, providerId);
    const state = this.#live();
    const mount = body.filesystem || state.files.size > 0;
    const before = new Map(state.files);
    const files: Record<string, string> = {};
    if (mount) for (const [path, bytes] of state.files) files[path] = Buffer.from(bytes).toString("base64");
    const request: BridgeExecuteBody = {
      ...body,
      env: { ...state.env, ...body.env },
      egress: state.egress,
      files,
      maxFilesBytes: state.maxFilesBytes,
    };
    const reply = this.#pool().post("/v1/execute", JSON.stringify(request), {
      deadlineMs: body.timeoutMs + engineGraceMs,
      signal: options.signal,
    });
    let answer: Awaited<typeof reply>;
    try {
      answer = await abortable(reply, options.signal, providerId);
    } catch (error) {
      if (error instanceof EngineOverrunError) return overrunResult(body.timeoutMs);
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
    if (answer.status !== 200)
      throw bridgeResponseError(answer.status, answer.text, new Headers(), providerId);
    const result = parseBridgeJson(answer.text, executeResultSchema, providerId);
    if (result.files != null && !state.destroyed) {
      const after = new Map(
        Object.entries(result.files).map(([path, text]) => [path, Buffer.from(text, "base64")]),
      );
      applyRunFiles(state.files, before, after);
    }
    return execResultOf(result, options, this.settings.providerId);
  }

  protected async readWorkspaceFile(relative: string, path: string): Promise<Uint8Array> {
    const bytes = this.#live().files.get(relative);
    if (bytes === undefined) {
      throw new NotFoundError(`no file "${path}" in the sandbox`, { providerId: this.settings.providerId });
    }
    return new Uint8Array(bytes);
  }

  protected async writeWorkspaceFile(
    relative: string,
    bytes: Uint8Array,
    _options?: CallOptions,
  ): Promise<void> {
    const state = this.#live();
    // A file and a directory cannot share a path, as on a real filesystem.
    for (const existing of state.files.keys()) {
      if (existing.startsWith(`${relative}/`) || relative.startsWith(`${existing}/`)) {
        throw new InvalidRequestError(`"${relative}" collides with the file or directory "${existing}"`, {
          providerId: this.settings.providerId,
        });
      }
    }
    const total =
      totalBytes(state.files.values()) - (state.files.get(relative)?.byteLength ?? 0) + bytes.byteLength;
    if (total > state.maxFilesBytes) {
      throw new QuotaExceededError(
        `the sandbox's files would take ${total} bytes, over its limit of ${state.maxFilesBytes} bytes`,
        { providerId: this.settings.providerId },
      );
    }
    state.files.set(relative, new Uint8Array(bytes));
  }

  async destroy(): Promise<void> {
    if (this.#state.destroyed) return;
    this.#state.destroyed = true;
    this.#state.files.clear();
    this.#forget(this.#state.vendorId);
  }
}

/**
 * Applies what a run did to the workspace (`before` -> `after`) to the current files: changed and
 * new files are written, removed ones deleted, and a file written with `writeFile` while the run
 * went on is kept unless the run itself changed that path.
 */
function applyRunFiles(
  current: Map<string, Uint8Array>,
  before: ReadonlyMap<string, Uint8Array>,
  after: ReadonlyMap<string, Uint8Array>,
): void {
  for (const [path, bytes] of before) {
    if (!after.has(path) && current.get(path) === bytes) current.delete(path);
  }
  for (const [path, bytes] of after) {
    const previous = before.get(path);
    if (previous === undefined || Buffer.compare(previous, bytes) !== 0) current.set(path, bytes);
  }
}

/** The result of a run whose engine had to be killed at its deadline. */
function overrunResult(timeoutMs: number): ExecResult {
  return {
    exitCode: 124,
    stdout: "",
    stderr: `sandport: the code ran past its ${timeoutMs} ms timeout and was stopped\n`,
    truncated: false,
    timedOut: true,
    durationMs: timeoutMs + engineGraceMs,
  };
}

/**
 * Rejects with `aborted` when `signal` fires. A run still waiting for an engine is withdrawn; one
 * that an engine took goes on to its deadline there.
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
