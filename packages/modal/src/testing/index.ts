/**
 * `@sandport/modal/testing`: a stateful fake of Modal's gRPC API (control plane and task command
 * router, with the in-image fs-tools helper; deployed functions running sandport's runner), whose
 * commands and files are real, for the contract suite and users' own tests.
 */

export { type CborValue, decodeCbor, encodeCbor } from "./cbor.ts";
export { type FsToolsPlan, fsToolsPath, planFsTools } from "./fs-tools-emulation.ts";
export {
  type FakeFunction,
  type FakeRunnerDeployment,
  type RecordedFunctionInput,
  runnerSourceUrl,
} from "./function-grid.ts";
export { createLocalMachineExecutor } from "./local-machine.ts";
export {
  createModalFake,
  grpcStatus,
  ModalFake,
  type ModalFakeOptions,
  type ModalFault,
  type ModalService,
  type RecordedModalCall,
} from "./modal-fake.ts";
export {
  type ModalFakeCommand,
  ModalFakeCwdError,
  type ModalFakeExecutor,
  type ModalFakeMachine,
  type ModalFakeProcess,
} from "./modal-fake-machine.ts";
