/**
 * The file calls Vercel's API has no route for (list, stat, make directory, remove, rename): core's
 * shell file calls (`shell-file-calls.ts`), run as commands in the sandbox. Paths reach the scripts
 * as arguments relative to the working directory /vercel/sandbox (where the scripts run), never as
 * part of their text.
 */
import type { ShellFileRunner } from "@sandport/core";
import type { Session } from "@vercel/sandbox";
import { runVercelCommand } from "./vercel-exec.ts";
import { vercelWorkspaceRoot } from "./vercel-request-mapping.ts";
import type { VercelSdk } from "./vercel-settings.ts";

/** What the file calls need from their sandbox. */
export interface VercelFileContext {
  session: Session;
  sdk: VercelSdk;
  providerId: string;
  /** Limit of one file call, ms. */
  timeoutMs: number;
}

/** Runs the file-call scripts as commands in the sandbox's working directory. */
export function vercelFileRunner(context: VercelFileContext): ShellFileRunner {
  return {
    providerId: context.providerId,
    place: "the sandbox",
    timeoutMs: context.timeoutMs,
    run: (operation, argv, signal, maxOutputBytes) =>
      runVercelCommand({
        session: context.session,
        sdk: context.sdk,
        context: { providerId: context.providerId, operation },
        argv,
        cwd: vercelWorkspaceRoot,
        timeoutMs: context.timeoutMs,
        signal,
        maxOutputBytes,
      }),
    // An absolute /vercel/sandbox path as the scripts take it: relative to the working directory.
    scriptPath: (absolute) =>
      absolute === vercelWorkspaceRoot ? "." : absolute.slice(vercelWorkspaceRoot.length + 1),
    // `find` prints paths as it was given them: relative, so back under /vercel/sandbox.
    foundPath: (found) => {
      const relative = found === "." ? "" : found.startsWith("./") ? found.slice(2) : found;
      return relative === "" ? vercelWorkspaceRoot : `${vercelWorkspaceRoot}/${relative}`;
    },
  };
}
