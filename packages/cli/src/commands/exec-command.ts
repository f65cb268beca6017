/** `sandport exec -- <command> [args...]`: run one program, without a shell, in a fresh sandbox. */
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { createConfiguredProvider } from "../configured-provider.ts";
import { parseTimeoutOption } from "../option-parsers.ts";
import { runInSandbox } from "../sandbox-session.ts";

/** Options of `sandport exec`, as parsed. */
export interface ExecCommandOptions {
  provider?: string;
  timeout?: number;
  json?: boolean;
}

/** Adds `exec` to `program`. */
export function registerExecCommand(program: Command, context: CliContext): void {
  program
    .command("exec")
    .description("run a program with arguments (no shell) in a fresh sandbox, then destroy it")
    .usage("[options] -- <command> [args...]")
    .argument("<command...>", "the program and its arguments; put them after -- so their options stay theirs")
    .option("--provider <name>", "configured provider to use (default: the config's default)")
    .option(
      "--timeout <ms>",
      "kill the command after this many milliseconds and exit 124",
      parseTimeoutOption,
    )
    .option("--json", "print one JSON object with the result instead of streaming the output")
    .action(async (argv: string[], options: ExecCommandOptions) => {
      context.setExitCode(await executeExecCommand(argv, options, context));
    });
}

/** Runs `sandport exec`; returns the exit code. */
export async function executeExecCommand(
  argv: readonly string[],
  options: ExecCommandOptions,
  context: CliContext,
): Promise<number> {
  const provider = createConfiguredProvider(context, options.provider, "shell");
  return runInSandbox({
    provider,
    request: {},
    environment: context.environment,
    json: options.json === true,
    verbose: context.globalOptions().verbose === true,
    timeoutMs: options.timeout,
    execute: (sandbox, execOptions) => sandbox.exec(argv, execOptions),
  });
}
