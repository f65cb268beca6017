/** `@sandport/core`: the sandport specification, errors, schemas, config and registry. Names no vendor. */
export {
  type AllowlistEntryKind,
  type IsolationKind,
  type LimitScope,
  type NetworkCapabilities,
  type NetworkMode,
  type ProviderCapabilities,
  type ProviderFeatures,
  type ProviderLimits,
  type ProviderPriors,
  type Residency,
  type Runtime,
  runtimes,
} from "./capabilities.ts";
export { allowlistEntryKind, assertRequestSupported, unsupportedReasons } from "./capability-check.ts";
export { codeCommand } from "./code-command.ts";
export {
  type ConfiguredProvider,
  type CreateProviderOptions,
  configuredProvider,
  configuredProviders,
  createConfigSchema,
  createProviderFromConfig,
  defaultProviderName,
  type ProviderEntry,
  parseConfig,
  type SandportConfig,
} from "./config.ts";
export { type DeadlineWatch, watchDeadline } from "./deadline-watch.ts";
export {
  AbortedError,
  AuthenticationError,
  ConfigInvalidError,
  InvalidRequestError,
  NoEligibleProviderError,
  NotFoundError,
  OutputLimitError,
  PermissionDeniedError,
  PolicyDeniedError,
  type ProviderFailure,
  ProviderUnavailableError,
  QuotaExceededError,
  RateLimitedError,
  reattributedError,
  SandboxFailedError,
  SandportError,
  type SandportErrorCode,
  type SandportErrorOptions,
  TimeoutError,
  toSandportError,
  UnsupportedCapabilityError,
} from "./errors.ts";
export {
  createHttpClient,
  type HttpClient,
  type HttpClientSettings,
  type HttpRequest,
  type HttpResponse,
} from "./http-client.ts";
export { errorFromHttpStatus, type HttpFailure, retryAfterMs } from "./http-errors.ts";
export { abandonIfAborted, createSandbox, throwIfAborted, withSandbox } from "./lifecycle.ts";
export { defaultMaxOutputBytes, OutputBuffer } from "./output-buffer.ts";
export { CallbackFailure, CombinedOutput, OutputCollector } from "./output-collector.ts";
export { parseProviderOptions } from "./provider-options.ts";
export {
  defineProviderFactory,
  type LazyProviderFactory,
  type ProviderContext,
  type ProviderDiagnosis,
  type ProviderFactory,
  type ProviderFactoryDefinition,
  ProviderRegistry,
  type ProviderTypeInfo,
} from "./provider-registry.ts";
export {
  decodeSandboxId,
  encodeSandboxId,
  isValidProviderId,
  type SandboxIdParts,
  vendorIdFor,
} from "./sandbox-id.ts";
export { matchesLabels } from "./sandbox-labels.ts";
export {
  type Sandbox,
  type SandboxProvider,
  type SpecificationVersion,
  specificationVersion,
} from "./sandbox-provider.ts";
export {
  type CallOptions,
  type Command,
  type CreateSandboxRequest,
  createSandboxRequestSchema,
  defaultMaxListEntries,
  describeIssues,
  type ExecOptions,
  type ExecResult,
  type ExposedPort,
  execOptionsSchema,
  type FileInfo,
  type ListFilesOptions,
  type ListFilter,
  type MakeDirectoryOptions,
  type NetworkEgress,
  type ProcessSignal,
  parseCommand,
  parseCreateSandboxRequest,
  parseExecOptions,
  parseFileCallOptions,
  parsePath,
  type RemoveFileOptions,
  type ResourceRequest,
  type RunCodeOptions,
  type SandboxInfo,
  type SandboxProcess,
  type SpawnOptions,
} from "./sandbox-request.ts";
export { hasSecretReference, resolveSecretReferences, type SecretSource } from "./secret-reference.ts";
export {
  classifyUnreadableByShell,
  fileScriptStatus,
  listFilesByShell,
  makeDirectoryByShell,
  removeFileByShell,
  renameFileByShell,
  type ShellFileRunner,
  statFileByShell,
  tooManyEntriesMessage,
} from "./shell-file-calls.ts";
export { normalizeAbsolutePath, workspaceMountPath, workspaceRelativePath } from "./workspace-path.ts";
