/**
 * `sandport tunnel`: the daemon of a private network. It dials the gateway (`tunnel.gateway`),
 * never listens, and serves the sandbox tools pushed down that link. The first SIGTERM stops new
 * calls and lets those in flight finish within `tunnel.shutdownGraceMs`; a second exits at once.
 */
import { ConfigInvalidError } from "@sandport/core";
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { firstInterrupt, startSandboxToolServer } from "../sandbox-tool-server.ts";

/** Adds `tunnel` to `program`. */
export function registerTunnelCommand(program: Command, context: CliContext): void {
  program
    .command("tunnel")
    .description("dial the gateway in tunnel.gateway and serve the sandbox tools over that outbound link")
    .action(async () => {
      context.setExitCode(await executeTunnelCommand(context));
    });
}

/** Runs `sandport tunnel` until the first SIGTERM / Ctrl-C, then shuts down gracefully. */
export async function executeTunnelCommand(context: CliContext): Promise<number> {
  const tools = await startSandboxToolServer(context);
  try {
    const gateway = tools.config.gateway;
    if (gateway === undefined) {
      throw new ConfigInvalidError(
        "tunnel.gateway: `sandport tunnel` needs the gateway's url, daemonId and token",
      );
    }
    const { connectTunnel, stderrLogger } = await import("@sandport/tunnel");
    const connection = connectTunnel({ server: tools.server, ...gateway, logger: stderrLogger() });
    context.environment.stderr.write(
      `sandport: tunnel to ${new URL(gateway.url).origin} as "${gateway.daemonId}"\n`,
    );
    await firstInterrupt(context);
    await connection.stop({ graceMs: tools.config.shutdownGraceMs });
    return 0;
  } finally {
    await tools.close();
  }
}
