/** `@sandport/modal`: Modal sandboxes (containers, GPUs) through the official `modal` JavaScript SDK. */
export { modalCapabilities } from "./modal-capabilities.ts";
export { errorFromGrpcStatus, errorFromModal, grpcStatusOf } from "./modal-errors.ts";
export {
  createModalProvider,
  ModalProvider,
  type ModalProviderSettings,
  modalProviderFactory,
} from "./modal-provider.ts";
export {
  type ModalCreateParameters,
  mapCreateRequest,
  modalProviderOptionsSchema,
  modalWorkspaceRoot,
} from "./modal-request-mapping.ts";
export type { ModalSandbox } from "./modal-sandbox.ts";
export {
  credentialEnvironmentVariables,
  defaultModalGpuTypes,
  defaultModalImage,
  defaultModalRegions,
  type ModalSdk,
  type ModalSdkClient,
  modalSettingsSchema,
  modalTypeInfo,
} from "./modal-settings.ts";
