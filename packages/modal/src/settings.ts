/**
 * `@sandport/modal/settings`: what config needs of the `modal` provider type (its name,
 * description and settings schema) without importing the adapter or the SDK.
 */
export { modalTypeInfo } from "./modal-settings.ts";
