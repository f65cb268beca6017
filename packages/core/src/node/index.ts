/** Node-only parts of `@sandport/core`: config files, file-based secrets, the host process runner. */
export {
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfigFile,
  nodeSecretSource,
} from "./config-file.ts";
export { hostFileInfo } from "./host-file-info.ts";
export { type RunProcessOptions, runProcess } from "./run-process.ts";
