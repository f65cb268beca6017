/**
 * `sandport gateway`: the reference gateway. Daemons dial in with their daemon token; MCP clients
 * call each daemon at `/mcp/<daemon-id>` with its client token (the `gateway` section).
 */
import { ConfigInvalidError, resolveSecretReferences } from "@sandport/core";
import { nodeSecretSource } from "@sandport/core/node";
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { loadCliConfig } from "../load-config.ts";
import { firstInterrupt } from "../sandbox-tool-server.ts";

/** Adds `gateway` to `program`. */
export function registerGatewayCommand(program: Command, context: CliContext): void {
  program
    .command("gateway")
    .description(
      "run the reference gateway of the gateway section: daemons dial in, MCP clients call /mcp/<id>",
    )
    .action(async () => {
      context.setExitCode(await executeGatewayCommand(context));
    });
}

/** Runs `sandport gateway` until the first SIGTERM / Ctrl-C. */
export async function executeGatewayCommand(context: CliContext): Promise<number> {
  const { environment, registry } = context;
  const { config } = loadCliConfig({ registry, environment, path: context.globalOptions().config });
  if (config.gateway === undefined) {
    throw new ConfigInvalidError("gateway: `sandport gateway` needs a gateway section with its daemons");
  }
  const section = resolveSecretReferences(config.gateway, nodeSecretSource(environment.env), "gateway");
  const { gatewayConfigSchema, startGateway, stderrLogger } = await import("@sandport/tunnel");
  const parsed = gatewayConfigSchema.safeParse(section);
  if (!parsed.success) {
    const { describeIssues } = await import("@sandport/core");
    throw new ConfigInvalidError(`invalid gateway settings: ${describeIssues(parsed.error, "gateway")}`);
  }
  const gateway = await startGateway({ ...parsed.data, logger: stderrLogger() });
  environment.stderr.write(
    `sandport: gateway at ${gateway.url.href} (daemons dial ${gateway.tunnelUrl.href})\n`,
  );
  await firstInterrupt(context);
  await gateway.close();
  return 0;
}
