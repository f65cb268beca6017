/** Commands of an `isolation: "none"` sandbox: plain host processes in the workspace (development only). */

import { existsSync } from "node:fs";
import { type ExecOptions, type ExecResult, InvalidRequestError, workspaceMountPath } from "@sandport/core";
import type { UnisolatedEnvironment } from "./local-environment.ts";
import { runProcess } from "./run-process.ts";
import { type SandboxRecord, sandboxPaths } from "./sandbox-store.ts";
import type { ProcessRequest } from "./supervised-process.ts";

/** Runs the command on the host, with the workspace standing in for /workspace. */
export async function runUnisolated(
  environment: UnisolatedEnvironment,
  record: SandboxRecord,
  request: ProcessRequest,
  options: ExecOptions,
  track: (kill: () => void) => () => void,
): Promise<ExecResult> {
  const { workspace } = sandboxPaths(environment.settings.stateDirectory, record.vendorId);
  const cwd = request.cwd.startsWith(workspaceMountPath)
    ? `${workspace}${request.cwd.slice(workspaceMountPath.length)}`
    : request.cwd;
  if (!existsSync(cwd))
    throw new InvalidRequestError(`cwd "${request.cwd}" is not a directory in the sandbox`);
  const outcome = await runProcess({
    file: request.argv[0] as string,
    args: request.argv.slice(1),
    env: { ...request.env, PATH: `${environment.nodeDirectory}:${process.env.PATH ?? ""}`, HOME: workspace },
    cwd,
    stdin: options.stdin,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    maxOutputBytes: options.maxOutputBytes,
    onStdout: options.onStdout,
    onStderr: options.onStderr,
    readyPipe: false,
    processGroup: true,
    track,
    providerId: environment.settings.providerId,
  });
  return outcome.result;
}
