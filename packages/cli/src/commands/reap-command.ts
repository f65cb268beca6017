/**
 * `sandport reap`: destroys the sandboxes that crashed processes or expired lifetimes left behind,
 * as the router's ledger records them.
 */
import { ConfigInvalidError } from "@sandport/core";
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { loadCliConfig } from "../load-config.ts";

/** Options of `sandport reap`, as parsed. */
export interface ReapCommandOptions {
  json?: boolean;
}

/** Adds `reap` to `program`. */
export function registerReapCommand(program: Command, context: CliContext): void {
  program
    .command("reap")
    .description("destroy sandboxes left behind by processes that died or by lifetimes that passed")
    .option("--json", "print the report as JSON")
    .action(async (options: ReapCommandOptions) => {
      context.setExitCode(await executeReapCommand(options, context));
    });
}

/** Runs `sandport reap`; returns the exit code (1 when some sandbox could not be reaped). */
export async function executeReapCommand(options: ReapCommandOptions, context: CliContext): Promise<number> {
  const { environment, registry } = context;
  const { config } = loadCliConfig({ registry, environment, path: context.globalOptions().config });
  const { createSandport } = await import("sandport");
  let ledgerProblem: string | undefined;
  const sandport = createSandport({
    config,
    registry,
    env: environment.env,
    onEvent: (event) => {
      if (event.type === "ledger-error" && event.operation === "open") ledgerProblem = event.message;
    },
  });
  try {
    const router = await sandport.router();
    // Reaping an empty stand-in would report "nothing left behind" while the real ledger went unread.
    if (ledgerProblem !== undefined) throw new ConfigInvalidError(ledgerProblem);
    const report = await router.reap();
    const failed = report.failed.map(({ sandboxId, error }) => ({
      sandboxId,
      code: error.code,
      message: context.redact(error.message),
    }));
    if (options.json === true) {
      environment.stdout.write(
        `${JSON.stringify({ destroyed: report.destroyed, gone: report.gone, failed }, null, 2)}\n`,
      );
    } else {
      environment.stdout.write(
        `destroyed ${report.destroyed.length}, already gone ${report.gone.length}, failed ${failed.length}\n` +
          failed.map((failure) => `  ${failure.sandboxId}: ${failure.code}: ${failure.message}\n`).join(""),
      );
    }
    return failed.length === 0 ? 0 : 1;
  } finally {
    await sandport.dispose();
  }
}
