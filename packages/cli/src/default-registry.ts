/** The provider types the `sandport` command knows. Add a backend here (and in command-registry.ts). */
import { cloudflareContainerProviderFactory, cloudflareIsolateProviderFactory } from "@sandport/cloudflare";
import { ProviderRegistry } from "@sandport/core";
import { localProviderFactory } from "@sandport/local";

/** A fresh registry with every provider type bundled with the CLI, all loaded (for programs). */
export function defaultRegistry(): ProviderRegistry {
  return new ProviderRegistry([
    localProviderFactory,
    cloudflareIsolateProviderFactory,
    cloudflareContainerProviderFactory,
  ]);
}
