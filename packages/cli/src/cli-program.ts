/** The command-line grammar of `sandport`, defined with commander. */
import { Command } from "commander";
import type { CliContext } from "./cli-context.ts";
import { registerDoctorCommand } from "./commands/doctor-command.ts";
import { registerExecCommand } from "./commands/exec-command.ts";
import { registerGatewayCommand } from "./commands/gateway-command.ts";
import { registerProvidersCommand } from "./commands/providers-command.ts";
import { registerReapCommand } from "./commands/reap-command.ts";
import { registerRouteCommand } from "./commands/route-command.ts";
import { registerRunCommand } from "./commands/run-command.ts";
import { registerServeCommand } from "./commands/serve-command.ts";
import { registerTunnelCommand } from "./commands/tunnel-command.ts";
import { packageVersion } from "./package-version.ts";

/**
 * Builds the `sandport` program. It never exits the process itself: parse errors, `--help` and
 * `--version` surface as commander errors (`exitOverride`) that {@link runCli} turns into exit codes.
 */
export function createProgram(context: CliContext): Command {
  const { environment } = context;
  const program = new Command("sandport")
    .description("Run untrusted code in a sandbox from any configured backend.")
    .version(packageVersion(), "-V, --version", "print the version")
    .option(
      "--config <path>",
      "config file (default: $SANDPORT_CONFIG, else ./sandport.json, else the built-in local provider)",
    )
    .option("--verbose", "print stack traces and causes of errors, and sandbox lifecycle notes")
    // Settings below are inherited by every command added with `.command()`.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => environment.stdout.write(text),
      writeErr: (text) => environment.stderr.write(text),
      // Same one-line shape as every other error: "sandport: <message>", plus where to look.
      outputError: (text, write) =>
        write(`${text.replace(/^error: /, "sandport: ").trimEnd()} (see --help)\n`),
    })
    .configureHelp({ showGlobalOptions: true });
  registerRunCommand(program, context);
  registerExecCommand(program, context);
  registerProvidersCommand(program, context);
  registerDoctorCommand(program, context);
  registerRouteCommand(program, context);
  registerReapCommand(program, context);
  registerServeCommand(program, context);
  registerTunnelCommand(program, context);
  registerGatewayCommand(program, context);
  return program;
}
