/** `sandport run [file]`: run a snippet or a file of code in a fresh sandbox. */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  type ExecOptions,
  type ExecResult,
  InvalidRequestError,
  type Runtime,
  type Sandbox,
  UnsupportedCapabilityError,
} from "@sandport/core";
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import type { CliEnvironment } from "../cli-environment.ts";
import { createConfiguredProvider } from "../configured-provider.ts";
import { languageAliases, resolveRuntime } from "../language.ts";
import { parseLanguageOption, parseTimeoutOption } from "../option-parsers.ts";
import { runInSandbox } from "../sandbox-session.ts";

/** Options of `sandport run`, as parsed. */
export interface RunCommandOptions {
  eval?: string;
  lang?: Runtime;
  provider?: string;
  timeout?: number;
  json?: boolean;
}

/** Adds `run` to `program`. */
export function registerRunCommand(program: Command, context: CliContext): void {
  program
    .command("run")
    .description("run code in a fresh sandbox, then destroy it; exits with the code's exit status")
    .argument("[file]", 'file of code to run ("-" reads standard input)')
    .option("-e, --eval <code>", "code to run, instead of a file")
    .option(
      "--lang <language>",
      `language: ${Object.keys(languageAliases).join(", ")} (default: from the file extension, else sh)`,
      parseLanguageOption,
    )
    .option("--provider <name>", "configured provider to use (default: the config's default)")
    .option("--timeout <ms>", "kill the code after this many milliseconds and exit 124", parseTimeoutOption)
    .option("--json", "print one JSON object with the result instead of streaming the output")
    .action(async (file: string | undefined, options: RunCommandOptions) => {
      context.setExitCode(await executeRunCommand(file, options, context));
    });
}

/** Runs `sandport run`; returns the exit code. */
export async function executeRunCommand(
  file: string | undefined,
  options: RunCommandOptions,
  context: CliContext,
): Promise<number> {
  const { environment } = context;
  const code = await readCode(file, options.eval, environment);
  const runtime = resolveRuntime(options.lang, file === "-" ? undefined : file);
  const provider = await createConfiguredProvider(context, options.provider);
  return runInSandbox({
    provider,
    request: { runtime },
    environment,
    json: options.json === true,
    verbose: context.globalOptions().verbose === true,
    timeoutMs: options.timeout,
    redact: context.redact,
    execute: (sandbox, execOptions) => runCodeIn(sandbox, code, runtime, execOptions),
  });
}

async function readCode(
  file: string | undefined,
  inline: string | undefined,
  environment: CliEnvironment,
): Promise<string> {
  if (inline !== undefined && file !== undefined) {
    throw new InvalidRequestError("give the code either with -e or as a file, not both");
  }
  if (inline !== undefined) return inline;
  if (file === undefined) {
    throw new InvalidRequestError(
      'nothing to run: give code with -e <code>, a file, or "-" for standard input',
    );
  }
  if (file === "-") return environment.readStdin();
  try {
    return await readFile(resolve(environment.cwd, file), "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new InvalidRequestError(`cannot read ${file} (${reason})`, { cause: error });
  }
}

async function runCodeIn(
  sandbox: Sandbox,
  code: string,
  runtime: Runtime,
  options: ExecOptions,
): Promise<ExecResult> {
  if (sandbox.runCode !== undefined) return sandbox.runCode(code, { ...options, language: runtime });
  // Shell code needs no language support: it is what `exec({ shell })` runs.
  if (runtime === "shell") return sandbox.exec({ shell: code }, options);
  throw new UnsupportedCapabilityError(`sandbox ${sandbox.id} cannot run ${runtime} code (no runCode)`);
}
