/**
 * The isolate Worker (`worker/` in this package) running under miniflare: the engine of local mode
 * and the loopback server of remote-mode tests. The Worker's TypeScript files are stripped of
 * types and handed to workerd one module each, so what runs here is the source a team deploys.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { ModuleDefinition } from "miniflare";
import { type EgressLookup, egressProxy } from "./egress-proxy.ts";
import { listeningChildPid } from "./engine-process.ts";
import { type MiniflareVariables, withMiniflareEnvironment } from "./miniflare-environment.ts";
import { stripTypes } from "./strip-types.ts";
import { workerdCommand } from "./workerd-command.ts";

/** The package's `worker/` folder (the same relative place from `src/isolate` and `dist/isolate`). */
export const isolateWorkerDirectory = fileURLToPath(new URL("../../worker/", import.meta.url));

/** The package's root: module names are relative to it, as the Worker's imports of `../../src` are. */
const packageDirectory = resolve(isolateWorkerDirectory, "..");

/** Relative imports left in a module once types are stripped (type-only imports are gone). */
const runtimeImportPattern = /\b(?:import|export)\s[^'";]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']/g;

/** The compatibility date the isolate Worker is configured with in `worker/wrangler.jsonc`. */
const isolateWorkerCompatibilityDate = "2026-07-01";

let cachedModules: ModuleDefinition[] | undefined;

/**
 * The Worker's modules, types stripped, and the package modules they import at run time (the
 * egress policy it shares with Node); read once per process.
 */
export function isolateWorkerModules(): ModuleDefinition[] {
  if (cachedModules !== undefined) return cachedModules;
  const sourceDirectory = join(isolateWorkerDirectory, "src");
  const names = readdirSync(sourceDirectory).filter((name) => name.endsWith(".ts"));
  // The entry module comes first: miniflare treats the first module as the main one.
  names.sort((left, right) => Number(right === "index.ts") - Number(left === "index.ts"));
  const pending = names.map((name) => join(sourceDirectory, name));
  const modules: ModuleDefinition[] = [];
  const seen = new Set(pending);
  for (let path = pending.shift(); path !== undefined; path = pending.shift()) {
    const stripped = stripTypes(readFileSync(path, "utf8"));
    const name = relative(packageDirectory, path);
    if (!stripped.ok) throw new Error(`the isolate Worker's ${name} does not compile: ${stripped.message}`);
    modules.push({ type: "ESModule", path, contents: stripped.javascript });
    for (const match of stripped.javascript.matchAll(runtimeImportPattern)) {
      const imported = resolve(dirname(path), match[1] as string);
      if (!seen.has(imported)) {
        seen.add(imported);
        pending.push(imported);
      }
    }
  }
  cachedModules = modules;
  return cachedModules;
}

/** Options of {@link startIsolateWorker}. */
export interface IsolateWorkerOptions {
  /** The bearer token callers must present. */
  token: string;
  /** Largest code accepted, bytes. */
  maxCodeBytes: number;
  /** Total file size per sandbox, bytes. */
  maxFilesBytes: number;
  /** Loopback port to listen on; 0 picks a free one. Default 0. */
  port?: number;
  /**
   * Heap limit of each isolate, MiB (V8's `--max-old-space-size`). workerd has no per-isolate
   * memory limit of its own, so a run that passes this crashes its engine, which the pool then
   * restarts. Default: none.
   */
  heapLimitMb?: number;
  /**
   * Serve `POST /v1/execute`, the stateless route of local mode's engines. Default true; false
   * starts the Worker as `wrangler deploy` ships it, without the route.
   */
  statelessRoute?: boolean;
  /**
   * Cap on workerd's writable memory, bytes (`RLIMIT_DATA`; Linux). It bounds what the heap limit
   * does not: ArrayBuffers and WebAssembly memories. Default: none.
   */
  dataLimitBytes?: number;
  /**
   * Resolver of local mode's egress proxy: when given, allowlisted egress leaves through Node,
   * which connects only to the addresses it checked (see egress-proxy.ts). Default: none (the
   * gate fetches through workerd, as a deployed isolate Worker does on Cloudflare).
   */
  egressLookup?: EgressLookup;
  /**
   * More Worker variables and secrets, as `wrangler.jsonc` and `wrangler secret put` would set
   * them: tenants (`SANDPORT_TENANTS`), quotas and lifetimes. Default: none.
   */
  workerVariables?: Readonly<Record<string, string>>;
}

/** A running isolate Worker. */
export interface IsolateWorkerInstance {
  /** Base URL on loopback, e.g. `http://127.0.0.1:40123/`. */
  readonly url: URL;
  /** The workerd process's pid, where /proc tells it (Linux). */
  readonly pid: number | undefined;
  /** Sends a request straight to the Worker. */
  dispatch(path: string, init: RequestInit): Promise<Response>;
  /** Stops workerd (SIGKILL, so a stuck isolate cannot delay it). Idempotent. */
  dispose(): Promise<void>;
}

const interruptSignals = ["SIGINT", "SIGTERM"] as const;

function signalListeners(): Map<string, Set<unknown>> {
  return new Map(interruptSignals.map((signal) => [signal, new Set<unknown>(process.listeners(signal))]));
}

/**
 * Miniflare adds SIGINT and SIGTERM listeners that exit the process at once (after killing
 * workerd): in a program that handles those signals itself (a daemon draining its calls, a CLI
 * destroying its sandbox) that cuts the shutdown short. They are removed again, so the host keeps
 * its own signal behaviour; miniflare's "exit" hook stays, and the engines also die with the host
 * when it is killed outright (see engine-process.ts).
 */
function keepHostSignals(before: Map<string, Set<unknown>>): void {
  for (const signal of interruptSignals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener as () => void);
    }
  }
}

/** Starts workerd with the isolate Worker on loopback. */
export function startIsolateWorker(options: IsolateWorkerOptions): Promise<IsolateWorkerInstance> {
  const variables: MiniflareVariables = {};
  if (options.heapLimitMb !== undefined) {
    variables.MINIFLARE_WORKERD_V8_FLAGS = `--max-old-space-size=${options.heapLimitMb}`;
  }
  const command = workerdCommand({ dataLimitBytes: options.dataLimitBytes });
  if (command !== undefined) variables.MINIFLARE_WORKERD_PATH = command;
  return withMiniflareEnvironment(variables, () => startMiniflare(options));
}

async function startMiniflare(options: IsolateWorkerOptions): Promise<IsolateWorkerInstance> {
  // Loaded when an engine starts, not when the package is imported: miniflare costs ~250 ms and
  // ~80 MB at import, which a CLI run on another provider must not pay.
  const { Miniflare, NoOpLog } = await import("miniflare");
  const signalListenersBefore = signalListeners();
  const miniflare = new Miniflare({
    modules: isolateWorkerModules(),
    modulesRoot: packageDirectory,
    compatibilityDate: isolateWorkerCompatibilityDate,
    workerLoaders: { LOADER: {} },
    durableObjects: {
      SANDBOXES: { className: "SandboxObject", useSQLite: true },
      SANDBOX_INDEX: { className: "SandboxIndex", useSQLite: true },
    },
    bindings: {
      ...options.workerVariables,
      SANDPORT_ISOLATE_WORKER_TOKEN: options.token,
      SANDPORT_MAX_CODE_BYTES: String(options.maxCodeBytes),
      SANDPORT_MAX_FILES_BYTES: String(options.maxFilesBytes),
      // Only an engine on this machine serves the stateless route (see worker-env.ts).
      ...(options.statelessRoute === false ? {} : { SANDPORT_LOCAL_ENGINE: "1" }),
    },
    ...(options.egressLookup === undefined
      ? {}
      : { serviceBindings: { SANDPORT_EGRESS: { node: egressProxy(options.egressLookup) } } }),
    host: "127.0.0.1",
    port: options.port ?? 0,
    log: new NoOpLog(),
    // workerd's own log lines (the code's console is captured by the runner) are read and dropped,
    // so its pipes never fill up.
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      stdout.resume();
      stderr.resume();
    },
  });
  keepHostSignals(signalListenersBefore);
  let url: URL;
  try {
    url = await miniflare.ready;
  } catch (error) {
    await miniflare.dispose().catch(() => {});
    throw error;
  }
  let disposed: Promise<void> | undefined;
  return {
    url,
    pid: listeningChildPid(Number(url.port)),
    dispatch: (path, init) =>
      miniflare.dispatchFetch(new URL(path, url), init as never) as unknown as Promise<Response>,
    dispose: () => {
      disposed ??= miniflare.dispose();
      return disposed;
    },
  };
}
