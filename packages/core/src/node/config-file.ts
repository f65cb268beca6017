/** Reading `sandport.json` and `${file:...}` secrets from disk (Node only). */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseConfig, type SandportConfig } from "../config.ts";
import { ConfigInvalidError } from "../errors.ts";
import type { ProviderRegistry } from "../provider-registry.ts";
import type { SecretSource } from "../secret-reference.ts";

/** Secrets from `process.env` and files on disk. */
export function nodeSecretSource(environment: NodeJS.ProcessEnv = process.env): SecretSource {
  return { env: environment, readFile: (path) => readFileSync(path, "utf8") };
}

/** Where a loaded config came from. */
export interface LoadedConfig {
  config: SandportConfig;
  /** Absolute path of the file, or undefined when the embedded default was used. */
  path: string | undefined;
}

/** Options of {@link loadConfigFile}. */
export interface LoadConfigOptions {
  registry: ProviderRegistry;
  /** Explicit file; an error when missing. Defaults to `$SANDPORT_CONFIG`, then `./sandport.json`. */
  path?: string;
  /** Used when no file is named and none exists. */
  fallback: SandportConfig;
  /** Working directory for the default path. */
  cwd?: string;
  environment?: NodeJS.ProcessEnv;
}

/** Loads and validates `sandport.json`, or returns the fallback when there is none. */
export function loadConfigFile(options: LoadConfigOptions): LoadedConfig {
  const environment = options.environment ?? process.env;
  const named = options.path ?? (environment.SANDPORT_CONFIG || undefined);
  const path = resolve(options.cwd ?? process.cwd(), named ?? "sandport.json");
  if (named === undefined && !existsSync(path)) {
    return { config: parseConfig(options.fallback, options.registry), path: undefined };
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigInvalidError(`cannot read config file ${path}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigInvalidError(`config file ${path} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    return { config: parseConfig(json, options.registry), path };
  } catch (error) {
    if (ConfigInvalidError.isInstance(error)) {
      throw new ConfigInvalidError(`${path}: ${error.message}`, { cause: error.cause });
    }
    throw error;
  }
}
