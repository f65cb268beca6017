/**
 * The file calls the sandbox bridge has no route for (list, stat, make directory, remove, rename,
 * why a read failed): core's shell file calls (`shell-file-calls.ts`), run as execs in the
 * container. Paths are absolute and normalized inside /workspace before they get here.
 */
import type { ShellFileRunner } from "@sandport/core";
import { runContainerExec } from "./container-exec.ts";
import { execMarkerVariable, workspaceRoot } from "./container-request-mapping.ts";
import type { SandboxBridgeClient } from "./sandbox-bridge-client.ts";

/** What the file calls need from their sandbox. */
export interface ContainerFileContext {
  client: SandboxBridgeClient;
  providerId: string;
  vendorId: string;
  /** Limit of one file call, ms. */
  timeoutMs: number;
  /** Ends the processes of the exec marked `marker` (a file call that timed out or was aborted). */
  stopCommand?: (marker: string) => Promise<void>;
}

/** Runs the file-call scripts as execs in the container, each marked so a stopped call ends there too. */
export function containerFileRunner(context: ContainerFileContext): ShellFileRunner {
  return {
    providerId: context.providerId,
    place: "the container",
    timeoutMs: context.timeoutMs,
    run(operation, argv, signal, maxOutputBytes) {
      // Marked like every exec, so a call that times out or is aborted does not run on in the container.
      const marker = crypto.randomUUID();
      const stopCommand = context.stopCommand;
      return runContainerExec({
        client: context.client,
        providerId: context.providerId,
        operation,
        vendorId: context.vendorId,
        body: {
          argv: ["env", `${execMarkerVariable}=${marker}`, ...argv],
          cwd: workspaceRoot,
          timeout_ms: context.timeoutMs,
        },
        timeoutMs: context.timeoutMs,
        signal,
        maxOutputBytes,
        ...(stopCommand === undefined ? {} : { stop: () => stopCommand(marker) }),
      });
    },
  };
}

/** The absolute /workspace path of a workspace-relative one (`""`: the workspace). */
export function containerPath(relative: string): string {
  return relative === "" ? workspaceRoot : `${workspaceRoot}/${relative}`;
}
