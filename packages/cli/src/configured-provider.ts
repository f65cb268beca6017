/** Builds the provider a command asked for with `--provider`, from the loaded config. */
import { createProviderFromConfig, type Runtime, type SandboxProvider } from "@sandport/core";
import { nodeSecretSource } from "@sandport/core/node";
import type { CliContext } from "./cli-context.ts";
import { loadCliConfig } from "./load-config.ts";

/**
 * The provider configured under `name`; without one, the config's `default`; without that, the
 * first provider (in config order) that runs `runtime`, else the first provider. Only the chosen
 * provider's `${env:...}` / `${file:...}` references are resolved, so an unused provider's missing
 * key is harmless; providers passed over were only constructed, which touches nothing.
 */
export function createConfiguredProvider(
  context: CliContext,
  name: string | undefined,
  runtime?: Runtime,
): SandboxProvider {
  const { environment, registry } = context;
  const { config } = loadCliConfig({ registry, environment, path: context.globalOptions().config });
  const build = (providerName: string | undefined) =>
    createProviderFromConfig(providerName, { config, registry, secrets: nodeSecretSource(environment.env) });
  if (name !== undefined || config.default !== undefined || runtime === undefined) return build(name);
  for (const [candidate, entry] of Object.entries(config.providers)) {
    const factory = registry.get(entry.type);
    if (factory === undefined) continue;
    if (runtimeOf(factory.create.bind(factory), entry, candidate, runtime)) return build(candidate);
  }
  return build(undefined);
}

/** Whether the provider configured as `entry` declares `runtime`; one that cannot be built does not. */
function runtimeOf(
  create: (settings: object, context: { providerId: string }) => SandboxProvider,
  entry: { type: string },
  providerId: string,
  runtime: Runtime,
): boolean {
  const { type: _type, ...settings } = entry;
  try {
    // Secret references stay unresolved here: capabilities never depend on a credential.
    return create(settings, { providerId }).capabilities.runtimes.includes(runtime);
  } catch {
    return false;
  }
}
