/** Builds the provider a command asked for with `--provider`, from the loaded config. */
import { createProviderFromConfig, type SandboxProvider } from "@sandport/core";
import { nodeSecretSource } from "@sandport/core/node";
import type { CliContext } from "./cli-context.ts";
import { loadCliConfig } from "./load-config.ts";

/**
 * The provider configured under `name`, or the config's default provider. Only that provider's
 * `${env:...}` / `${file:...}` references are resolved, so an unused provider's missing key is harmless.
 */
export function createConfiguredProvider(context: CliContext, name: string | undefined): SandboxProvider {
  const { environment, registry } = context;
  const { config } = loadCliConfig({ registry, environment, path: context.globalOptions().config });
  return createProviderFromConfig(name, {
    config,
    registry,
    secrets: nodeSecretSource(environment.env),
  });
}
