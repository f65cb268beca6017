/**
 * `@sandport/vercel/testing`: a stateful fake of the Vercel Sandbox API as msw handlers, whose
 * commands and files are real, for the contract suite and users' own tests.
 */
export { createLocalVmExecutor, localPathOf } from "./local-vm.ts";
export { readGzippedTar, type TarEntry } from "./tar-reader.ts";
export {
  createVercelFake,
  type RecordedVercelCall,
  VercelFake,
  type VercelFakeOptions,
  type VercelFault,
  type VercelRoute,
  vercelApiBase,
  vercelRunDomain,
} from "./vercel-fake.ts";
export {
  type FakeVm,
  type FakeVmCommand,
  FakeVmCwdError,
  type FakeVmExecutor,
  type FakeVmProcess,
  type FakeVmReadResult,
} from "./vercel-fake-vm.ts";
