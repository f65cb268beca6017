/** What `sandport doctor` reports about local mode's engine: does workerd start and run an isolate here? */

import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import type { ProviderDiagnosis } from "@sandport/core";
import { startIsolateWorker } from "./isolate-worker.ts";
import type { IsolateWorkerExecuteBody } from "./isolate-worker-protocol.ts";
import { workerdBoundToParent } from "./workerd-command.ts";

/** The engine check's findings. */
export interface IsolateEngineReport {
  /** An isolate ran. */
  usable: boolean;
  /** workerd's npm package version, e.g. `"1.20260730.1"`. */
  workerdVersion: string | undefined;
  /** Time to start the engine and run one isolate, ms. */
  startMs: number | undefined;
  /** Engines die with their host process even when it is killed outright (`setpriv --pdeathsig`). */
  boundToHost: boolean;
  /** Why the engine is not usable, when it is not. */
  problem: string | undefined;
}

function workerdVersion(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const manifest = require.resolve("workerd/package.json", {
      paths: [dirname(require.resolve("miniflare"))],
    });
    return (require(manifest) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** Starts one engine, runs one isolate in it and stops it. */
export async function checkIsolateEngine(): Promise<IsolateEngineReport> {
  const version = workerdVersion();
  const boundToHost = workerdBoundToParent();
  const token = randomBytes(24).toString("base64url");
  const started = performance.now();
  try {
    const engine = await startIsolateWorker({ token, maxCodeBytes: 1024, maxFilesBytes: 1024 });
    try {
      const response = await engine.dispatch("/v1/execute", {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({
          code: "export default 42;",
          env: {},
          egress: "none",
          files: {},
          timeoutMs: 5000,
          maxOutputBytes: 1024,
          maxFilesBytes: 1024,
          filesystem: false,
          process: false,
        } satisfies IsolateWorkerExecuteBody),
      });
      const answer = (await response.json()) as { valueJson?: string };
      if (answer.valueJson !== "42") {
        return {
          usable: false,
          workerdVersion: version,
          startMs: undefined,
          boundToHost,
          problem: "the test isolate gave a wrong answer",
        };
      }
      return {
        usable: true,
        workerdVersion: version,
        startMs: performance.now() - started,
        boundToHost,
        problem: undefined,
      };
    } finally {
      await engine.dispose();
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return {
      usable: false,
      workerdVersion: version,
      startMs: undefined,
      boundToHost,
      problem: `workerd did not start: ${reason}`,
    };
  }
}

/** The engine check as `sandport doctor` shows it, for a provider of mode `mode`. */
export async function diagnoseIsolateEngine(
  mode: "local" | "remote",
  check: typeof checkIsolateEngine = checkIsolateEngine,
): Promise<ProviderDiagnosis> {
  if (mode === "remote") {
    return {
      usable: true,
      lines: ["mode remote: isolates run on the deployed isolate Worker, nothing runs here"],
    };
  }
  const report = await check();
  return {
    usable: report.usable,
    lines: [
      report.usable
        ? `engine:     workerd ${report.workerdVersion ?? "(version unknown)"} ran a test isolate in ${Math.round(report.startMs ?? 0)} ms (start included)`
        : `engine:     workerd ${report.workerdVersion ?? "(version unknown)"} does not run here`,
      report.boundToHost
        ? "lifetime:   engines die with their host process, even when it is killed (setpriv --pdeathsig)"
        : "lifetime:   engines stop when their host exits, but would outlive a host that is killed (no setpriv --pdeathsig here)",
    ],
    ...(report.problem === undefined ? {} : { problem: report.problem }),
    details: { ...report },
  };
}
