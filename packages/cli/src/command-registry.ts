/**
 * The registry the `sandport` command itself runs with: every built-in provider type, the vendor
 * adapters registered lazily (see `sandport/registry`), so config can name and validate them while
 * their modules (and vendor SDKs) load only when a command uses one of their providers.
 */
import type { ProviderRegistry, SandportConfig } from "@sandport/core";
import { builtInRegistry } from "sandport/registry";

/** A fresh registry whose vendor types load on first use (see {@link loadProviderTypes}). */
export function commandRegistry(): ProviderRegistry {
  return builtInRegistry();
}

/** Loads the provider types a command will use: the named provider's, else every configured one's. */
export async function loadProviderTypes(
  registry: ProviderRegistry,
  config: SandportConfig,
  name?: string,
): Promise<void> {
  const entry =
    name !== undefined && Object.hasOwn(config.providers, name) ? config.providers[name] : undefined;
  const types = entry !== undefined ? [entry.type] : Object.values(config.providers).map((each) => each.type);
  await registry.load(types.filter((type) => registry.has(type)));
}
