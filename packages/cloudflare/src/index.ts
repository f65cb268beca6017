/** `@sandport/cloudflare`: Cloudflare V8 isolates (local or deployed) and Cloudflare sandbox containers. */
export {
  CloudflareContainerProvider,
  type CloudflareContainerProviderSettings,
  cloudflareContainerProviderFactory,
  createCloudflareContainerProvider,
} from "./cloudflare-container-provider.ts";
export {
  CloudflareIsolateProvider,
  type CloudflareIsolateProviderSettings,
  cloudflareIsolateProviderFactory,
  createCloudflareIsolateProvider,
} from "./cloudflare-isolate-provider.ts";
export type { EgressLookup, ResolvedAddress } from "./isolate/egress-proxy.ts";
export {
  checkIsolateEngine,
  diagnoseIsolateEngine,
  type IsolateEngineReport,
} from "./isolate/isolate-engine-check.ts";
export type { IsolateMode } from "./isolate/isolate-settings.ts";
