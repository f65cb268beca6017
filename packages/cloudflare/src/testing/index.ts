/**
 * `@sandport/cloudflare/testing`: fakes of the Cloudflare backends, for the contract suite and users' tests.
 */

export {
  type IsolateWorkerInstance,
  type IsolateWorkerOptions,
  startIsolateWorker,
} from "../isolate/isolate-worker.ts";
export type {
  ContainerExecutor,
  FakeContainer,
  FakeContainerExecOutcome,
  FakeContainerExecRequest,
} from "./container-executor.ts";
export { createLocalContainerExecutor } from "./container-local-executor.ts";
export {
  createSandboxBridgeFake,
  type FailNextOptions,
  type RecordedSandboxBridgeCall,
  type SandboxBridgeFake,
  type SandboxBridgeFakeOptions,
} from "./sandbox-bridge-fake.ts";
export type {
  SandboxBridgeFault,
  SandboxBridgeRoute,
} from "./sandbox-bridge-faults.ts";
