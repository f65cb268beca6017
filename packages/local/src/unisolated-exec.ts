/** Commands of an `isolation: "none"` sandbox: plain host processes in the workspace (development only). */
import { existsSync } from "node:fs";
import { type ExecOptions, type ExecResult, InvalidRequestError, workspaceMountPath } from "@sandport/core";
import { runProcess } from "@sandport/core/node";
import type { UnisolatedEnvironment } from "./local-environment.ts";
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
  return runProcess(request.argv, {
    cwd,
    env: { ...request.env, PATH: `${environment.nodeDirectory}:${process.env.PATH ?? ""}`, HOME: workspace },
    stdin: options.stdin,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    maxOutputBytes: options.maxOutputBytes,
    onStdout: options.onStdout,
    onStderr: options.onStderr,
    track,
    providerId: environment.settings.providerId,
  });
}
