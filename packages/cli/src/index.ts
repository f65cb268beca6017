/** `@sandport/cli`: the `sandport` command, also usable in-process through `runCli`. */

export { defaultConfig } from "sandport/default-config";
export type { CliContext, GlobalOptions } from "./cli-context.ts";
export {
  type CliEnvironment,
  flushStream,
  type InterruptSignal,
  type OutputStream,
  processEnvironment,
} from "./cli-environment.ts";
export { createProgram } from "./cli-program.ts";
export { configSchemaFileName, renderConfigSchema } from "./config-schema.ts";
export { createConfiguredProvider } from "./configured-provider.ts";
export { defaultRegistry } from "./default-registry.ts";
export {
  describeError,
  type FormatErrorOptions,
  formatError,
  type JsonErrorReport,
  jsonErrorReport,
} from "./error-report.ts";
export { exitCodeForError, exitCodeForErrorCode, exitCodes, signalExitCode } from "./exit-codes.ts";
export { defaultRuntime, inferLanguage, languageAliases, parseLanguage, resolveRuntime } from "./language.ts";
export { type LoadCliConfigOptions, loadCliConfig } from "./load-config.ts";
export { minimumNodeVersion, unsupportedNodeVersionMessage } from "./node-version.ts";
export { type RunCliOptions, runCli } from "./run-cli.ts";
export { type JsonRunResult, runInSandbox, type SandboxSessionOptions } from "./sandbox-session.ts";
export { type ConfigSecretsOptions, configSecrets, createRedactor, type Redact } from "./secret-redaction.ts";
