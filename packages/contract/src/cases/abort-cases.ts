/** Cases about aborting create. */
import type { ContractCase } from "../contract-case.ts";
import { expectCreateRejected } from "../expect-create-rejected.ts";

const group = "abort";

/** Abort cases, in run order. */
export const abortCases: readonly ContractCase[] = [
  {
    id: "create-already-aborted",
    group,
    title: "rejects create with an already-aborted signal with aborted and creates nothing",
    timeoutMs: 10_000,
    async run(contract) {
      await expectCreateRejected(contract, {}, "aborted", { signal: AbortSignal.abort() });
    },
  },
  {
    id: "create-aborted-in-flight",
    group,
    title: "rejects create aborted while in flight with aborted and leaves no sandbox behind",
    timeoutMs: 10_000,
    async run(contract) {
      // The provider itself must honour the signal: this calls provider.create, not core's createSandbox.
      const controller = new AbortController();
      await expectCreateRejected(contract, {}, "aborted", {
        signal: controller.signal,
        abortAfterCall: controller,
        settleMs: 2_000,
      });
    },
  },
];
