/** The provider types the `sandport` command knows. Add a backend here to make it configurable. */
import { cloudflareContainerProviderFactory, cloudflareIsolateProviderFactory } from "@sandport/cloudflare";
import { ProviderRegistry } from "@sandport/core";
import { localProviderFactory } from "@sandport/local";

/** A fresh registry with every provider type bundled with the CLI. */
export function defaultRegistry(): ProviderRegistry {
  return new ProviderRegistry([
    localProviderFactory,
    cloudflareIsolateProviderFactory,
    cloudflareContainerProviderFactory,
  ]);
}
