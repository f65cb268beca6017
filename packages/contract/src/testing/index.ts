/** `@sandport/contract/testing`: a real process-backed provider for tests (Node only). */
export {
  createProcessProvider,
  type ProcessProviderSettings,
  processProviderCapabilities,
} from "./process-provider.ts";
