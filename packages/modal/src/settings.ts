/**
 * `@sandport/modal/settings`: what config needs of the Modal provider types (their names,
 * descriptions, settings schemas and light capabilities) without importing the adapters or the SDK.
 */
export { modalFunctionTypeInfo } from "./modal-function-settings.ts";
export { modalSandboxTypeInfo } from "./modal-settings.ts";
