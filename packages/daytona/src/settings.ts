/**
 * `@sandport/daytona/settings`: what config needs of the `daytona` provider type (its name,
 * description and settings schema) without importing the adapter or the Daytona SDK.
 */
export { daytonaTypeInfo } from "./daytona-settings.ts";
