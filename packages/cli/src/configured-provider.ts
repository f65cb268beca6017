/** The provider a command runs on: `--provider`, else the router over the loaded config. */
import { createProviderFromConfig, type SandboxProvider } from "@sandport/core";
import { nodeSecretSource } from "@sandport/core/node";
import type { CliContext } from "./cli-context.ts";
import { loadProviderTypes } from "./command-registry.ts";
import { loadCliConfig } from "./load-config.ts";

/**
 * The provider a command runs on: the one configured under `name` (`--provider`), else the router
 * over every configured provider, which decides per request from the config's policy (a config
 * with one provider needs no router). Only what is used is built: `--provider` resolves that
 * provider's `${env:...}` / `${file:...}` references alone, and the router builds (and imports the
 * adapter of) only the provider it chooses.
 */
export async function createConfiguredProvider(
  context: CliContext,
  name: string | undefined,
): Promise<SandboxProvider> {
  const { environment, registry } = context;
  const { config } = loadCliConfig({ registry, environment, path: context.globalOptions().config });
  const names = Object.keys(config.providers);
  if (name !== undefined || names.length === 1) {
    await loadProviderTypes(registry, config, name ?? names[0]);
    return createProviderFromConfig(name ?? names[0], {
      config,
      registry,
      secrets: nodeSecretSource(environment.env),
    });
  }
  // Loaded only when a command routes: `--provider` runs never pay for the router.
  const { createSandport } = await import("sandport");
  const sandport = createSandport({
    config,
    registry,
    env: environment.env,
    onEvent: (event) => {
      if (event.type === "ledger-error" && event.operation === "open") {
        environment.stderr.write(
          `sandport: note: no sandbox ledger (${context.redact(event.message)}); a sandbox this run leaves behind cannot be reaped by another process\n`,
        );
      }
    },
  });
  return sandport.router();
}
