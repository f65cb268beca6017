/** One run of caller code in a fresh V8 isolate through the Worker Loader. */

import type {
  IsolateWorkerEgress,
  IsolateWorkerRunResult,
} from "../../src/isolate/isolate-worker-protocol.ts";
import { checkRunOutput, workspaceProblem } from "../../src/isolate/isolate-worker-protocol.ts";
import type { OutboundGateProps } from "./outbound-gate.ts";
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
  files: Map<string, Uint8Array> | undefined;
  /** The workspace's directories (relative), created before the files. */
  directories?: string[];
  /** Size limit of the files the run leaves (contents and paths), bytes. */
  maxFilesBytes: number;
  /**
   * Remote mode: the sandbox whose Durable Object runs this, and the run's id. Every outbound
   * request of the run then asks that object whether the run is still going, so a run that timed
   * out (or whose sandbox was destroyed) reaches nothing more, even while its isolate lingers.
   */
  liveness?: { sandbox: string; run: string };
  /** Ends the wait for the run at once (its sandbox is being destroyed); its file changes are dropped. */
  signal?: AbortSignal;
}

/** A run's result and, when a workspace was mounted, the workspace afterwards. */
export interface IsolateRunOutcome {
  result: IsolateWorkerRunResult;
  /** Checked: valid paths, no conflicts, within the entry and size limits. */
  files: Map<string, Uint8Array> | undefined;
  /** Every directory of the workspace after the run, when it was mounted. */
  directories?: string[];
}

/**
 * What the runner module returns over RPC. It runs in the same isolate as the caller's code, so
 * nothing of it is trusted: see {@link checkRunOutput} and {@link workspaceProblem}.
 */
type RunnerReply = unknown;

/** The runner's RPC surface, as the isolate Worker sees it. */
interface RunnerEntrypoint {
  run(input: {
    env: Record<string, string>;
    maxOutputBytes: number;
    process: boolean;
    files: [string, Uint8Array][] | undefined;
    directories: string[] | undefined;
  }): Promise<RunnerReply>;
}

/** Loopback entrypoints the isolate Worker exports, reachable through `ctx.exports`. */
export interface IsolateWorkerExports {
  OutboundGate(options: { props: OutboundGateProps }): Fetcher;
}

function outboundFor(
  egress: IsolateWorkerEgress,
  exports: IsolateWorkerExports,
  liveness: IsolateRun["liveness"],
): Fetcher | null | undefined {
  if (egress === "none") return null;
  const live = liveness === undefined ? {} : { liveness };
  // Open network through the gate only where the run's liveness is checked; otherwise `undefined`
  // leaves the isolate the isolate Worker's own network access.
  if (egress === "open")
    return liveness === undefined ? undefined : exports.OutboundGate({ props: { allow: null, ...live } });
  return exports.OutboundGate({ props: { allow: [...egress.allow], ...live } });
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
  const globalOutbound = outboundFor(run.egress, exports, run.liveness);
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
  const deadline = new Promise<"timeout" | "aborted">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), run.timeoutMs);
    if (run.signal?.aborted) resolve("aborted");
    run.signal?.addEventListener("abort", () => resolve("aborted"), { once: true });
  });
  try {
    const reply = await Promise.race([
      runner.run({
        env: run.env,
        maxOutputBytes: run.maxOutputBytes,
        process: run.process,
        files: run.files === undefined ? undefined : [...run.files],
        directories: run.files === undefined ? undefined : (run.directories ?? []),
      }),
      deadline,
    ]);
    const durationMs = Date.now() - started;
    if (reply === "timeout") {
      return { result: timedOutResult(durationMs, run.timeoutMs), files: undefined };
    }
    if (reply === "aborted") {
      return {
        result: runnerFailure("the sandbox was destroyed during the run", durationMs),
        files: undefined,
      };
    }
    return checkedOutcome(reply, run, durationMs);
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

/** The runner's reply checked again outside the isolate: shape, output caps, file paths and limits. */
function checkedOutcome(reply: RunnerReply, run: IsolateRun, durationMs: number): IsolateRunOutcome {
  const output = checkRunOutput(reply, run.maxOutputBytes);
  if (output === undefined) {
    return { result: runnerFailure("the run's reply was malformed", durationMs), files: undefined };
  }
  const result: IsolateWorkerRunResult = { ...output, timedOut: false, durationMs };
  if (run.files === undefined) return { result, files: undefined };
  const { files: fileList, directories } = reply as { files?: unknown; directories?: unknown };
  const files = new Map<string, Uint8Array>();
  let problem: string | undefined;
  if (!Array.isArray(fileList) || !Array.isArray(directories)) problem = "the run reported no workspace";
  else {
    for (const pair of fileList) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || files.has(pair[0])) {
        problem = "the run reported a malformed or repeated file";
        break;
      }
      files.set(pair[0], pair[1] as Uint8Array);
    }
    problem ??= workspaceProblem(files, directories as string[], run.maxFilesBytes);
  }
  if (problem === undefined) return { result, files, directories: [...(directories as string[])] };
  return { result: withChangesDiscarded(result, problem), files: undefined };
}

/** A run whose file changes were discarded for `problem`: it fails, never silently. */
export function withChangesDiscarded(
  result: IsolateWorkerRunResult,
  problem: string,
): IsolateWorkerRunResult {
  const notice = `sandport: ${problem}; the run's file changes were discarded\n`;
  return {
    ...result,
    exitCode: result.exitCode === 0 ? 1 : result.exitCode,
    stderr: `${result.stderr}${notice}`,
    ...(result.output === undefined ? {} : { output: `${result.output}${notice}` }),
  };
}

function runnerFailure(message: string, durationMs: number): IsolateWorkerRunResult {
  const stderr = `sandport: ${message}\n`;
  return { exitCode: 1, stdout: "", stderr, output: stderr, truncated: false, timedOut: false, durationMs };
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
