/**
 * `sandport serve`: the sandbox tools as an MCP server, over stdio (for a local MCP client) or, with
 * `--http`, over Streamable HTTP on loopback with a bearer token and Origin checks.
 */
import { ConfigInvalidError } from "@sandport/core";
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { firstInterrupt, startSandboxToolServer } from "../sandbox-tool-server.ts";

/** Options of `sandport serve`, as parsed. */
export interface ServeCommandOptions {
  http?: boolean;
}

/** Adds `serve` to `program`. */
export function registerServeCommand(program: Command, context: CliContext): void {
  program
    .command("serve")
    .description(
      "serve the sandbox tools over MCP: stdio, or --http on loopback (see tunnel.http in sandport.json)",
    )
    .option("--http", "serve Streamable HTTP instead of stdio")
    .action(async (options: ServeCommandOptions) => {
      context.setExitCode(await executeServeCommand(options, context));
    });
}

/** Runs `sandport serve` until its input ends (stdio) or the first SIGTERM / Ctrl-C. */
export async function executeServeCommand(
  options: ServeCommandOptions,
  context: CliContext,
): Promise<number> {
  const tools = await startSandboxToolServer(context);
  try {
    const { serveHttp, serveStdio } = await import("@sandport/tunnel");
    if (options.http !== true) {
      const serving = serveStdio({ server: tools.server });
      await Promise.race([serving.closed, firstInterrupt(context)]);
      await serving.close();
      return 0;
    }
    const http = tools.config.http;
    if (http === undefined) {
      throw new ConfigInvalidError("tunnel.http: --http needs a tunnel.http section with at least a token");
    }
    const serving = await serveHttp({ server: tools.server, ...http });
    context.environment.stderr.write(`sandport: serving MCP at ${serving.url.href}\n`);
    await firstInterrupt(context);
    await serving.close();
    return 0;
  } finally {
    await tools.close();
  }
}
