/** Node-only parts of `@sandport/core`: config files and file-based secrets. */
export {
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfigFile,
  nodeSecretSource,
} from "./config-file.ts";
