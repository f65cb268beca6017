/** `sandport exec -- <command> [args...]`: run one program, without a shell, in a fresh sandbox. */
import { type SandboxProvider, UnsupportedCapabilityError } from "@sandport/core";
import { isRouter } from "@sandport/router";
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import type { CliEnvironment } from "../cli-environment.ts";
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
    .description(
      "run a program with arguments (no shell) in a fresh sandbox, then destroy it; piped standard input is passed to it",
    )
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
  const provider = await createConfiguredProvider(context, options.provider);
  const routed = isRouter(provider);
  const stdin = await forwardedStdin(context.environment, provider, routed);
  return runInSandbox({
    provider,
    // Routed, the request says what the command needs, so the router picks a provider that has it:
    // a shell, and input when some is piped. A named provider gets the request as is.
    request: routed
      ? {
          runtime: "shell",
          ...(stdin === undefined ? {} : { providerOptions: { router: { needs: ["stdin"] } } }),
        }
      : {},
    environment: context.environment,
    json: options.json === true,
    verbose: context.globalOptions().verbose === true,
    timeoutMs: options.timeout,
    redact: context.redact,
    execute: (sandbox, execOptions) =>
      sandbox.exec(argv, stdin === undefined ? execOptions : { ...execOptions, stdin }),
  });
}

/**
 * The CLI's standard input, read to its end, when it is not a terminal (a pipe or a file): the
 * command gets it as its own. A terminal is never read (the command gets no input, as with
 * `< /dev/null`), and empty input is no input. Input for a provider that cannot deliver it is a
 * usage error, before any sandbox is created: dropping it would run the command on nothing.
 */
async function forwardedStdin(
  environment: CliEnvironment,
  provider: SandboxProvider,
  routed: boolean,
): Promise<Uint8Array | undefined> {
  if (environment.stdinIsTTY !== false || environment.readStdinBytes === undefined) return undefined;
  const bytes = await environment.readStdinBytes();
  if (bytes.length === 0) return undefined;
  // The router checks each candidate instead (the request says it needs stdin).
  if (!routed && !provider.capabilities.features.stdin) {
    throw new UnsupportedCapabilityError(
      `standard input is piped, and provider "${provider.providerId}" cannot pass input to a command (features.stdin is false); run without piped input, e.g. with < /dev/null`,
      { providerId: provider.providerId },
    );
  }
  return bytes;
}
