/**
 * Every provider type sandport ships, in one registry: `local` loaded, the vendor adapters
 * registered lazily, so a config can name and validate them (and a router decide on their
 * capabilities) while an adapter and its SDK load only when one of its providers is used.
 */
import { cloudflareContainerTypeInfo, cloudflareIsolateTypeInfo } from "@sandport/cloudflare/settings";
import { ProviderRegistry } from "@sandport/core";
import { daytonaTypeInfo } from "@sandport/daytona/settings";
import { localProviderFactory } from "@sandport/local";
import { modalFunctionTypeInfo, modalSandboxTypeInfo } from "@sandport/modal/settings";
import { vercelTypeInfo } from "@sandport/vercel/settings";

/** A fresh registry of the built-in provider types. */
export function builtInRegistry(): ProviderRegistry {
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
    })
    .registerLazy({
      ...modalSandboxTypeInfo,
      load: async () => (await import("@sandport/modal")).modalSandboxProviderFactory,
    })
    .registerLazy({
      ...modalFunctionTypeInfo,
      load: async () => (await import("@sandport/modal")).modalFunctionProviderFactory,
    });
}
