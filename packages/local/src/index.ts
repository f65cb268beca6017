/** `@sandport/local`: the embedded self-hosted sandbox backend. */
export {
  detectIsolation,
  type IsolationReport,
  type IsolationTool,
} from "./isolation-detect.ts";
export { describeIsolationReport, diagnoseLocal } from "./local-diagnosis.ts";
export {
  createLocalProvider,
  LocalProvider,
  type LocalProviderSettings,
  localProviderFactory,
} from "./local-provider.ts";
export type { LocalSandbox } from "./local-sandbox.ts";
export { type IsolationChoice, localSettingsSchema } from "./local-settings.ts";
