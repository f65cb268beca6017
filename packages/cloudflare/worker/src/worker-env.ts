/** Bindings and settings of the isolate Worker (see `wrangler.jsonc`). */

import type { IsolateWorkerLimits } from "../../src/isolate/isolate-worker-protocol.ts";
import { defaultMaxFilesBytes } from "../../src/isolate/isolate-worker-protocol.ts";
import type { SandboxIndex } from "./sandbox-index.ts";
import type { SandboxObject } from "./sandbox-object.ts";

/** The isolate Worker's environment. */
export interface IsolateWorkerEnv {
  /** Worker Loader: a fresh V8 isolate per run. */
  LOADER: WorkerLoader;
  /** One Durable Object per sandbox holds its settings and files. */
  SANDBOXES: DurableObjectNamespace<SandboxObject>;
  /** The list of live sandboxes (one instance). */
  SANDBOX_INDEX: DurableObjectNamespace<SandboxIndex>;
  /** Bearer token callers must present (`wrangler secret put SANDPORT_ISOLATE_WORKER_TOKEN`). */
  SANDPORT_ISOLATE_WORKER_TOKEN?: string;
  /** The token secret's older name, read when `SANDPORT_ISOLATE_WORKER_TOKEN` is not set. */
  SANDPORT_BRIDGE_TOKEN?: string;
  /**
   * Tenant tokens, as SHA-256 digests mapped to a tenant and its quotas (a secret; see
   * tenants.ts and ../README.md). Optional: without it the deployment token is the only one.
   */
  SANDPORT_TENANTS?: string;
  /** Quota defaults for every tenant (text, positive integers); absent means unlimited. */
  SANDPORT_TENANT_MAX_SANDBOXES?: string;
  SANDPORT_TENANT_MAX_STORED_BYTES?: string;
  SANDPORT_TENANT_MAX_RUNS_PER_MINUTE?: string;
  /** Lifetime of a sandbox created without one, ms (text). */
  SANDPORT_DEFAULT_TTL_MS?: string;
  /** Longest lifetime a create may ask for, ms (text); longer is refused. */
  SANDPORT_MAX_TTL_MS?: string;
  /** Largest code accepted, bytes (text). Default 1 MiB. */
  SANDPORT_MAX_CODE_BYTES?: string;
  /** Total file size per sandbox (contents and paths), bytes (text). Default 24 MiB. */
  SANDPORT_MAX_FILES_BYTES?: string;
  /**
   * Local mode only (never in `wrangler.jsonc`): `"1"` opens `POST /v1/execute`, the stateless
   * route local mode's engines serve. A deployed Worker refuses it: only a local engine can be
   * stopped with the run when it times out (see run-in-isolate.ts), and remote mode needs none.
   */
  SANDPORT_LOCAL_ENGINE?: string;
  /**
   * Local mode only (never in `wrangler.jsonc`): the Node-side proxy allowlisted egress goes
   * through, which resolves names and connects to the addresses it checked.
   */
  SANDPORT_EGRESS?: Fetcher;
}

function positiveInteger(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

/** The limits this deployment enforces. */
export function isolateWorkerLimits(env: IsolateWorkerEnv): IsolateWorkerLimits {
  return {
    maxCodeBytes: positiveInteger(env.SANDPORT_MAX_CODE_BYTES, 1024 * 1024),
    maxFilesBytes: positiveInteger(env.SANDPORT_MAX_FILES_BYTES, defaultMaxFilesBytes),
  };
}
