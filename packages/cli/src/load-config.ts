/** Finds and validates the config the CLI runs with. */
import type { ProviderRegistry } from "@sandport/core";
import { type LoadedConfig, loadConfigFile } from "@sandport/core/node";
import { defaultConfig } from "sandport/default-config";
import type { CliEnvironment } from "./cli-environment.ts";

/** Options of {@link loadCliConfig}. */
export interface LoadCliConfigOptions {
  registry: ProviderRegistry;
  environment: Pick<CliEnvironment, "cwd" | "env">;
  /** `--config`; otherwise `$SANDPORT_CONFIG`, then `./sandport.json`, then the embedded default. */
  path?: string;
}

/** Loads `--config`, `$SANDPORT_CONFIG` or `./sandport.json`, falling back to {@link defaultConfig}. */
export function loadCliConfig(options: LoadCliConfigOptions): LoadedConfig {
  return loadConfigFile({
    registry: options.registry,
    path: options.path,
    fallback: defaultConfig,
    cwd: options.environment.cwd,
    environment: options.environment.env,
  });
}
