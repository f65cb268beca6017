/**
 * `@sandport/vercel/settings`: what config needs of the `vercel` provider type (its name,
 * description and settings schema) without importing the adapter or the SDK.
 */
export { vercelTypeInfo } from "./vercel-settings.ts";
