/** `@sandport/cloudflare/testing`: fakes of the Cloudflare backends, for the contract suite and users' tests. */
export {
  type ContainerBridgeFake,
  type ContainerBridgeFakeOptions,
  createContainerBridgeFake,
  type FailNextOptions,
  type RecordedBridgeCall,
} from "./container-bridge-fake.ts";
export type { ContainerBridgeFault, ContainerBridgeRoute } from "./container-bridge-faults.ts";
export type {
  ContainerExecutor,
  FakeContainer,
  FakeContainerExecOutcome,
  FakeContainerExecRequest,
} from "./container-executor.ts";
export { createLocalContainerExecutor } from "./container-local-executor.ts";
