/**
 * `@sandport/cloudflare/settings`: what config needs of the Cloudflare provider types (their names,
 * descriptions and settings schemas) without importing the adapters, so a program can validate a
 * config naming them and load an adapter only when it is used.
 */
export { cloudflareContainerTypeInfo } from "./container/container-settings.ts";
export { cloudflareIsolateTypeInfo } from "./isolate/isolate-settings.ts";
