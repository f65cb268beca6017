/** One run of caller code in a fresh V8 isolate through the Worker Loader. */
import type {
  IsolateWorkerEgress,
  IsolateWorkerRunResult,
} from "../../src/isolate/isolate-worker-protocol.ts";
import { runnerModuleName, runnerModuleSource, userModuleName } from "./runner-module.ts";

/** Compatibility settings of the isolates: Node APIs (`node:fs`, `Buffer`, `process`) included. */
const isolateCompatibilityDate = "2026-07-01";
const isolateCompatibilityFlags = ["nodejs_compat"];

/** Exit code of a run stopped at its timeout, as `timeout(1)` reports it. */
export const timedOutExitCode = 124;

/** What one run needs. */
export interface IsolateRun {
  code: string;
  env: Record<string, string>;
  egress: IsolateWorkerEgress;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Set up `process` (env, exit, stdout/stderr) for the code. */
  process: boolean;
  /** The workspace to mount, or `undefined` to run without one. */
  files: Record<string, Uint8Array> | undefined;
  /** The workspace's directories (relative), created before the files. */
  directories?: string[];
}

/** A run's result and, when a workspace was mounted, the workspace afterwards. */
export interface IsolateRunOutcome {
  result: IsolateWorkerRunResult;
  files: Record<string, Uint8Array> | undefined;
  /** Every directory of the workspace after the run, when it was mounted. */
  directories?: string[];
}

/** What the runner module returns over RPC. */
interface RunnerReply {
  exitCode: number;
  stdout: string;
  stderr: string;
  truncated: boolean;
  valueJson?: string;
  output?: string;
  files?: Record<string, Uint8Array>;
  directories?: string[];
}

/** The runner's RPC surface, as the isolate Worker sees it. */
interface RunnerEntrypoint {
  run(input: {
    env: Record<string, string>;
    maxOutputBytes: number;
    process: boolean;
    files: Record<string, Uint8Array> | undefined;
    directories: string[] | undefined;
  }): Promise<RunnerReply>;
}

/** Loopback entrypoints the isolate Worker exports, reachable through `ctx.exports`. */
export interface IsolateWorkerExports {
  OutboundGate(options: { props: { allow: string[] } }): Fetcher;
}

function outboundFor(egress: IsolateWorkerEgress, exports: IsolateWorkerExports): Fetcher | null | undefined {
  if (egress === "none") return null;
  // `undefined` leaves the isolate the isolate Worker's own network access.
  if (egress === "open") return undefined;
  return exports.OutboundGate({ props: { allow: [...egress.allow] } });
}

/**
 * Runs `run.code` as an ES module in a fresh isolate. The isolate sees no bindings, only the
 * network its egress allows, and nothing of other runs. A run past `timeoutMs` is abandoned with
 * `timedOut`; on Cloudflare the same figure is the isolate's CPU limit, so a busy loop is killed.
 */
export async function runInIsolate(
  loader: WorkerLoader,
  exports: IsolateWorkerExports,
  run: IsolateRun,
): Promise<IsolateRunOutcome> {
  const started = Date.now();
  const globalOutbound = outboundFor(run.egress, exports);
  const worker = loader.load({
    compatibilityDate: isolateCompatibilityDate,
    compatibilityFlags: isolateCompatibilityFlags,
    mainModule: runnerModuleName,
    modules: { [runnerModuleName]: runnerModuleSource, [userModuleName]: run.code },
    env: {},
    limits: { cpuMs: run.timeoutMs },
    ...(globalOutbound === undefined ? {} : { globalOutbound }),
  });
  const runner = worker.getEntrypoint() as unknown as RunnerEntrypoint;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), run.timeoutMs);
  });
  try {
    const reply = await Promise.race([
      runner.run({
        env: run.env,
        maxOutputBytes: run.maxOutputBytes,
        process: run.process,
        files: run.files,
        directories: run.files === undefined ? undefined : (run.directories ?? []),
      }),
      deadline,
    ]);
    const durationMs = Date.now() - started;
    if (reply === "timeout") {
      return { result: timedOutResult(durationMs, run.timeoutMs), files: undefined };
    }
    const { files, directories, ...rest } = reply;
    if (run.files === undefined)
      return { result: { ...rest, timedOut: false, durationMs }, files: undefined };
    return {
      result: { ...rest, timedOut: false, durationMs },
      files: files ?? {},
      directories: directories ?? [],
    };
  } catch (error) {
    const durationMs = Date.now() - started;
    // The isolate was killed at its CPU limit (equal to the timeout, and CPU time never exceeds
    // wall time), or the code could not even be loaded (a syntax error, a missing import).
    if (durationMs >= run.timeoutMs)
      return { result: timedOutResult(durationMs, run.timeoutMs), files: undefined };
    return { result: loadFailure(error, durationMs), files: undefined };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

function timedOutResult(durationMs: number, timeoutMs: number): IsolateWorkerRunResult {
  const stderr = `sandport: the code ran past its ${timeoutMs} ms timeout and was stopped\n`;
  return {
    exitCode: timedOutExitCode,
    stdout: "",
    stderr,
    output: stderr,
    truncated: false,
    timedOut: true,
    durationMs,
  };
}

function loadFailure(error: unknown, durationMs: number): IsolateWorkerRunResult {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const stderr = `${text}\n`;
  return { exitCode: 1, stdout: "", stderr, output: stderr, truncated: false, timedOut: false, durationMs };
}
