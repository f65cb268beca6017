/** Runs one `sandport` invocation and turns its outcome into an exit code. */
import type { ProviderRegistry } from "@sandport/core";
import { type Command, CommanderError } from "commander";
import type { CliContext } from "./cli-context.ts";
import { type CliEnvironment, processEnvironment } from "./cli-environment.ts";
import { createProgram } from "./cli-program.ts";
import { commandRegistry } from "./command-registry.ts";
import { formatError, type JsonErrorReport, jsonErrorReport } from "./error-report.ts";
import { exitCodeForError, exitCodes } from "./exit-codes.ts";
import { configSecrets, createRedactor, type Redact } from "./secret-redaction.ts";

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /** Provider types the config may use; defaults to the bundled ones, Cloudflare loaded on first use. */
  registry?: ProviderRegistry;
}

/**
 * Runs the CLI with `argv` (the arguments after the program name) and resolves with the exit code
 * instead of exiting, so it can be embedded and tested in-process. Errors are written to stderr as
 * one `sandport: ...` line (with stack and causes under `--verbose`); with `--json` they are one
 * `{ "error": { "code", "message" } }` object on stdout instead, with the same exit code. Secrets
 * of the config never appear in either.
 */
export async function runCli(
  argv: readonly string[],
  environment: CliEnvironment = processEnvironment(),
  options: RunCliOptions = {},
): Promise<number> {
  let exitCode: number = exitCodes.success;
  let redactor: Redact | undefined;
  const context: CliContext = {
    environment,
    registry: options.registry ?? commandRegistry(),
    globalOptions: () => program.opts(),
    setExitCode(code) {
      exitCode = code;
    },
    redact(text) {
      // Built at first use, once `--config` is known; most runs never print a message.
      redactor ??= createRedactor(configSecrets({ environment, path: program.opts().config }));
      return redactor(text);
    },
  };
  const program = createProgram(context);
  const json = jsonRequested(program, argv);
  // Commander prints its own errors as they happen; with --json the catch below prints them instead.
  if (json)
    for (const command of [program, ...program.commands]) command.configureOutput({ outputError() {} });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      const code = commanderExitCode(error);
      if (json && code !== exitCodes.success) {
        const message = error.message.replace(/^error: /, "");
        writeJsonError(environment, { error: { code: "invalid_request", message } });
      }
      return code;
    }
    const verbose = program.opts().verbose === true;
    if (json) {
      const report = jsonErrorReport(error);
      report.error.message = context.redact(report.error.message);
      writeJsonError(environment, report);
    }
    // With --json, stdout holds the one object; the details asked for with --verbose go to stderr.
    if (!json || verbose) environment.stderr.write(context.redact(formatError(error, { verbose })));
    return exitCodeForError(error);
  }
}

function writeJsonError(environment: CliEnvironment, report: JsonErrorReport): void {
  environment.stdout.write(`${JSON.stringify(report)}\n`);
}

function commanderExitCode(error: CommanderError): number {
  if (error.code === "commander.helpDisplayed" || error.code === "commander.version")
    return exitCodes.success;
  // Everything else is a usage mistake: unknown option, missing argument, no command given.
  return error.exitCode === 0 ? exitCodes.success : exitCodes.usage;
}

/**
 * Whether `argv` asks for `--json`, decided before parsing so that a parse error can be reported
 * as JSON too. Values of options are skipped (`-e --json` runs the code `--json`), and nothing after
 * `--` counts: it belongs to the command being run.
 */
export function jsonRequested(program: Command, argv: readonly string[]): boolean {
  let command = program;
  for (let index = 0; index < argv.length; index += 1) {
    const token = argv[index];
    if (token === "--") return false;
    if (token === "--json") return true;
    const subcommand =
      command === program
        ? program.commands.find(
            (candidate) => candidate.name() === token || candidate.aliases().includes(token ?? ""),
          )
        : undefined;
    if (subcommand !== undefined) {
      command = subcommand;
      continue;
    }
    const option = [...command.options, ...program.options].find(
      (candidate) => candidate.long === token || candidate.short === token,
    );
    if (option?.required) index += 1;
  }
  return false;
}
