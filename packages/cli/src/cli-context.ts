/** What every command receives: the process surface, the provider types, and the global options. */
import type { ProviderRegistry } from "@sandport/core";
import type { CliEnvironment } from "./cli-environment.ts";
import type { Redact } from "./secret-redaction.ts";

/** Options accepted by every command. */
export interface GlobalOptions {
  /** `--config <path>`. */
  config?: string;
  /** `--verbose`: stack traces, causes, and sandbox lifecycle notes on stderr. */
  verbose?: boolean;
}

/** Shared state of one CLI invocation. */
export interface CliContext {
  environment: CliEnvironment;
  registry: ProviderRegistry;
  /** The global options as parsed (read lazily: commander fills them in while parsing). */
  globalOptions(): GlobalOptions;
  /** Records the exit code the invocation ends with. */
  setExitCode(code: number): void;
  /**
   * Removes the config's secrets (resolved `${env:...}` / `${file:...}` values, URL user-info) from
   * a message before the CLI prints it. Sandbox output is data and is never passed through it.
   */
  redact: Redact;
}
