/** `@sandport/vercel`: Vercel Sandbox microVMs through the official `@vercel/sandbox` SDK. */
export { vercelCapabilities } from "./vercel-capabilities.ts";
export {
  createVercelProvider,
  VercelProvider,
  type VercelProviderSettings,
  vercelProviderFactory,
} from "./vercel-provider.ts";
export { vercelProviderOptionsSchema, vercelWorkspaceRoot } from "./vercel-request-mapping.ts";
export type { VercelSandbox } from "./vercel-sandbox.ts";
export {
  credentialEnvironmentVariables,
  type VercelSdk,
  vercelSettingsSchema,
  vercelTypeInfo,
} from "./vercel-settings.ts";
