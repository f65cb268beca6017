/** Runs one `sandport` invocation and turns its outcome into an exit code. */
import type { ProviderRegistry } from "@sandport/core";
import { CommanderError } from "commander";
import type { CliContext } from "./cli-context.ts";
import { type CliEnvironment, processEnvironment } from "./cli-environment.ts";
import { createProgram } from "./cli-program.ts";
import { defaultRegistry } from "./default-registry.ts";
import { formatError } from "./error-report.ts";
import { exitCodeForError, exitCodes } from "./exit-codes.ts";

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /** Provider types the config may use; defaults to {@link defaultRegistry}. */
  registry?: ProviderRegistry;
}

/**
 * Runs the CLI with `argv` (the arguments after the program name) and resolves with the exit code
 * instead of exiting, so it can be embedded and tested in-process. Errors are written to stderr as
 * one `sandport: ...` line (with stack and causes under `--verbose`).
 */
export async function runCli(
  argv: readonly string[],
  environment: CliEnvironment = processEnvironment(),
  options: RunCliOptions = {},
): Promise<number> {
  let exitCode: number = exitCodes.success;
  const context: CliContext = {
    environment,
    registry: options.registry ?? defaultRegistry(),
    globalOptions: () => program.opts(),
    setExitCode(code) {
      exitCode = code;
    },
  };
  const program = createProgram(context);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (error) {
    // Commander has already printed its message (or the help, or the version).
    if (error instanceof CommanderError) return commanderExitCode(error);
    environment.stderr.write(formatError(error, { verbose: program.opts().verbose === true }));
    return exitCodeForError(error);
  }
}

function commanderExitCode(error: CommanderError): number {
  if (error.code === "commander.helpDisplayed" || error.code === "commander.version")
    return exitCodes.success;
  // Everything else is a usage mistake: unknown option, missing argument, no command given.
  return error.exitCode === 0 ? exitCodes.success : exitCodes.usage;
}
