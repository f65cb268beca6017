/**
 * `@sandport/modal`: Modal through the official `modal` JavaScript SDK, as two providers: Modal
 * sandboxes (`modal-sandbox`: containers with exec, files, GPUs) and Modal Functions
 * (`modal-function`: each run one call of sandport's runner on Modal's autoscaled grid, GPUs).
 */
export { FunctionWorkspace, functionWorkspaceRoot } from "./function-workspace.ts";
export { modalCapabilities } from "./modal-capabilities.ts";
export { errorFromGrpcStatus, errorFromModal, grpcStatusOf } from "./modal-errors.ts";
export {
  type ModalRunnerFunction,
  type RunnerReply,
  type RunnerRequest,
  runnerDeployCommand,
  runnerProtocol,
  runnerSourcePath,
} from "./modal-function-call.ts";
export { modalFunctionCapabilities } from "./modal-function-capabilities.ts";
export {
  createModalFunctionProvider,
  type ModalFunctionCallOptions,
  ModalFunctionProvider,
  type ModalFunctionProviderSettings,
  mapFunctionRequest,
  modalFunctionProviderFactory,
  modalFunctionProviderOptionsSchema,
} from "./modal-function-provider.ts";
export type { ModalFunctionSandbox } from "./modal-function-sandbox.ts";
export {
  defaultRunnerAppName,
  defaultRunnerFunctionName,
  type ModalFunctionSdk,
  modalFunctionSettingsSchema,
  modalFunctionTypeInfo,
} from "./modal-function-settings.ts";
export {
  type ModalCreateParameters,
  mapCreateRequest,
  modalProviderOptionsSchema,
  modalWorkspaceRoot,
} from "./modal-request-mapping.ts";
export type { ModalSandbox } from "./modal-sandbox.ts";
export {
  createModalSandboxProvider,
  ModalSandboxProvider,
  type ModalSandboxProviderSettings,
  modalSandboxProviderFactory,
} from "./modal-sandbox-provider.ts";
export {
  credentialEnvironmentVariables,
  defaultModalGpuTypes,
  defaultModalImage,
  defaultModalRegions,
  type ModalSdk,
  type ModalSdkClient,
  modalSandboxTypeInfo,
  modalSettingsSchema,
} from "./modal-settings.ts";
