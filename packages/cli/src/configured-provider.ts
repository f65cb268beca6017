/** Builds the provider a command asked for with `--provider`, from the loaded config. */
import {
  configuredProvider,
  createProviderFromConfig,
  type Runtime,
  type SandboxProvider,
} from "@sandport/core";
import { nodeSecretSource } from "@sandport/core/node";
import type { CliContext } from "./cli-context.ts";
import { loadProviderTypes } from "./command-registry.ts";
import { loadCliConfig } from "./load-config.ts";

/**
 * The provider configured under `name`; without one, the config's `default`; without that, the
 * first provider (in config order) that runs `runtime`, else the first provider. Only the chosen
 * provider's `${env:...}` / `${file:...}` references are resolved, so an unused provider's missing
 * key is harmless; providers passed over are only described by their factories, never built.
 */
export async function createConfiguredProvider(
  context: CliContext,
  name: string | undefined,
  runtime?: Runtime,
): Promise<SandboxProvider> {
  const { environment, registry } = context;
  const { config } = loadCliConfig({ registry, environment, path: context.globalOptions().config });
  // Only the adapters this run may use are imported: the named provider's, else the default's, else all.
  await loadProviderTypes(registry, config, name ?? config.default);
  const build = (providerName: string | undefined) =>
    createProviderFromConfig(providerName, { config, registry, secrets: nodeSecretSource(environment.env) });
  if (name !== undefined || config.default !== undefined || runtime === undefined) return build(name);
  for (const candidate of Object.keys(config.providers)) {
    if (declaresRuntime(candidate, runtime, { config, registry })) return build(candidate);
  }
  return build(undefined);
}

/** Whether the provider configured as `name` declares `runtime`; one whose entry is invalid does not. */
function declaresRuntime(
  name: string,
  runtime: Runtime,
  options: Parameters<typeof configuredProvider>[1],
): boolean {
  try {
    // Validated settings, secret references unresolved: capabilities never depend on a credential.
    const { factory, settings } = configuredProvider(name, options);
    return factory.capabilities(settings, { providerId: name }).runtimes.includes(runtime);
  } catch {
    return false;
  }
}
