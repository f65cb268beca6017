/**
 * The bridge Worker (`worker/` in this package) running under miniflare: the engine of local mode
 * and the loopback server of remote-mode tests. The Worker's TypeScript files are stripped of
 * types and handed to workerd one module each, so what runs here is the source a team deploys.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { Miniflare, type ModuleDefinition, NoOpLog } from "miniflare";
import { type MiniflareVariables, withMiniflareEnvironment } from "./miniflare-environment.ts";
import { stripTypes } from "./strip-types.ts";
import { workerdBoundToParent } from "./workerd-command.ts";

/** The package's `worker/` folder (the same relative place from `src/isolate` and `dist/isolate`). */
export const bridgeWorkerDirectory = fileURLToPath(new URL("../../worker/", import.meta.url));

/** The compatibility date the bridge is configured with in `worker/wrangler.jsonc`. */
const bridgeCompatibilityDate = "2026-07-01";

let cachedModules: ModuleDefinition[] | undefined;

/** The Worker's modules, types stripped; read once per process. */
export function bridgeWorkerModules(): ModuleDefinition[] {
  if (cachedModules !== undefined) return cachedModules;
  const sourceDirectory = join(bridgeWorkerDirectory, "src");
  const names = readdirSync(sourceDirectory).filter((name) => name.endsWith(".ts"));
  // The entry module comes first: miniflare treats the first module as the main one.
  names.sort((left, right) => Number(right === "index.ts") - Number(left === "index.ts"));
  cachedModules = names.map((name) => {
    const path = join(sourceDirectory, name);
    const stripped = stripTypes(readFileSync(path, "utf8"));
    if (!stripped.ok) throw new Error(`the bridge Worker's ${name} does not compile: ${stripped.message}`);
    return { type: "ESModule", path, contents: stripped.javascript };
  });
  return cachedModules;
}

/** Options of {@link startBridgeWorker}. */
export interface BridgeWorkerOptions {
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
}

/** A running bridge Worker. */
export interface BridgeWorkerInstance {
  /** Base URL on loopback, e.g. `http://127.0.0.1:40123/`. */
  readonly url: URL;
  /** Sends a request straight to the Worker. */
  dispatch(path: string, init: RequestInit): Promise<Response>;
  /** Stops workerd (SIGKILL, so a stuck isolate cannot delay it). Idempotent. */
  dispose(): Promise<void>;
}

/** Starts workerd with the bridge Worker on loopback. */
export function startBridgeWorker(options: BridgeWorkerOptions): Promise<BridgeWorkerInstance> {
  const variables: MiniflareVariables = {};
  if (options.heapLimitMb !== undefined) {
    variables.MINIFLARE_WORKERD_V8_FLAGS = `--max-old-space-size=${options.heapLimitMb}`;
  }
  const boundCommand = workerdBoundToParent();
  if (boundCommand !== undefined) variables.MINIFLARE_WORKERD_PATH = boundCommand;
  return withMiniflareEnvironment(variables, () => startMiniflare(options));
}

async function startMiniflare(options: BridgeWorkerOptions): Promise<BridgeWorkerInstance> {
  const miniflare = new Miniflare({
    modules: bridgeWorkerModules(),
    modulesRoot: join(bridgeWorkerDirectory, "src"),
    compatibilityDate: bridgeCompatibilityDate,
    workerLoaders: { LOADER: {} },
    durableObjects: {
      SANDBOXES: { className: "SandboxObject", useSQLite: true },
      SANDBOX_INDEX: { className: "SandboxIndex", useSQLite: true },
    },
    bindings: {
      SANDPORT_BRIDGE_TOKEN: options.token,
      SANDPORT_MAX_CODE_BYTES: String(options.maxCodeBytes),
      SANDPORT_MAX_FILES_BYTES: String(options.maxFilesBytes),
    },
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
    dispatch: (path, init) =>
      miniflare.dispatchFetch(new URL(path, url), init as never) as unknown as Promise<Response>,
    dispose: () => {
      disposed ??= miniflare.dispose();
      return disposed;
    },
  };
}
