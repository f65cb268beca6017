/** The provider types the `sandport` command knows. Add a backend here (and in command-registry.ts). */
import { cloudflareContainerProviderFactory, cloudflareIsolateProviderFactory } from "@sandport/cloudflare";
import { ProviderRegistry } from "@sandport/core";
import { daytonaProviderFactory } from "@sandport/daytona";
import { localProviderFactory } from "@sandport/local";
import { modalFunctionProviderFactory, modalSandboxProviderFactory } from "@sandport/modal";
import { vercelProviderFactory } from "@sandport/vercel";

/** A fresh registry with every provider type bundled with the CLI, all loaded (for programs). */
export function defaultRegistry(): ProviderRegistry {
  return new ProviderRegistry([
    localProviderFactory,
    cloudflareIsolateProviderFactory,
    cloudflareContainerProviderFactory,
    daytonaProviderFactory,
    vercelProviderFactory,
    modalSandboxProviderFactory,
    modalFunctionProviderFactory,
  ]);
}
