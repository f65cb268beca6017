/**
 * The registry the `sandport` command itself runs with: the same provider types as
 * `defaultRegistry`, but every vendor adapter registers lazily, so config can name and validate
 * them while their modules (and vendor SDKs) load only when a command uses one of their providers.
 */
import { cloudflareContainerTypeInfo, cloudflareIsolateTypeInfo } from "@sandport/cloudflare/settings";
import { ProviderRegistry, type SandportConfig } from "@sandport/core";
import { daytonaTypeInfo } from "@sandport/daytona/settings";
import { localProviderFactory } from "@sandport/local";
import { vercelTypeInfo } from "@sandport/vercel/settings";

/** A fresh registry whose vendor types load on first use (see {@link loadProviderTypes}). */
export function commandRegistry(): ProviderRegistry {
  return new ProviderRegistry([localProviderFactory])
    .registerLazy({
      ...cloudflareIsolateTypeInfo,
      load: async () => (await import("@sandport/cloudflare")).cloudflareIsolateProviderFactory,
    })
    .registerLazy({
      ...cloudflareContainerTypeInfo,
      load: async () => (await import("@sandport/cloudflare")).cloudflareContainerProviderFactory,
    })
    .registerLazy({
      ...daytonaTypeInfo,
      load: async () => (await import("@sandport/daytona")).daytonaProviderFactory,
    })
    .registerLazy({
      ...vercelTypeInfo,
      load: async () => (await import("@sandport/vercel")).vercelProviderFactory,
    });
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
