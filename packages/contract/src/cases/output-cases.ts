/** Cases about what a command's result carries besides text: combined output and raw bytes. */
import { expect } from "vitest";
import { allOf, needsShell } from "../case-conditions.ts";
import { scopedCase } from "../case-scope.ts";
import type { ContractCase } from "../contract-case.ts";

const group = "output";

/** Output cases, in run order. */
export const outputCases: readonly ContractCase[] = [
  scopedCase({
    id: "exec-combined-output",
    group,
    title: "with features.combinedOutput, output holds stdout and stderr in the order they were written",
    timeoutMs: 15_000,
    skipReason: allOf(needsShell, (contract) =>
      contract.capabilities.features.combinedOutput ? undefined : "features.combinedOutput is false",
    ),
    async run(scope) {
      const sandbox = await scope.createSandbox();
      // The pauses keep the writes apart, so arrival order is write order on every backend.
      const result = await scope.within(
        sandbox.exec({ shell: "echo one; sleep 0.1; echo two >&2; sleep 0.1; echo three" }),
        "exec",
        10_000,
      );
      expect(result.output).toBe("one\ntwo\nthree\n");
      expect(result.stdout).toBe("one\nthree\n");
    },
  }),
  scopedCase({
    id: "exec-raw-bytes",
    group,
    title: "bytes that are not UTF-8 reach stdoutBytes exactly, where a provider reports raw bytes",
    timeoutMs: 15_000,
    skipReason: needsShell,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      const result = await scope.within(sandbox.exec(["printf", "a\\377\\376b"]), "printf", 10_000);
      expect(result.stdout).toBe("a\uFFFD\uFFFDb");
      if (result.stdoutBytes !== undefined) {
        expect([...result.stdoutBytes]).toEqual([0x61, 0xff, 0xfe, 0x62]);
        expect(result.stderrBytes?.byteLength ?? 0).toBe(0);
      }
    },
  }),
  scopedCase({
    id: "provider-dispose",
    group,
    title: "dispose() releases a provider instance once its sandboxes are done, and may be called twice",
    timeoutMs: 30_000,
    skipReason: (contract) =>
      contract.provider.dispose === undefined ? "the provider has no dispose(): it holds nothing" : undefined,
    async run(scope) {
      const provider = await scope.within(
        scope.contract.createProvider(),
        "creating a second instance",
        10_000,
      );
      let disposed = false;
      scope.defer("dispose of the second instance", () => (disposed ? undefined : provider.dispose?.()));
      const sandbox = await scope.within(provider.create(scope.contract.request), "create", 20_000);
      await scope.within(sandbox.destroy(), "destroy", 10_000);
      await scope.within(provider.dispose?.() ?? Promise.resolve(), "dispose()", 10_000);
      disposed = true;
      await scope.within(provider.dispose?.() ?? Promise.resolve(), "a second dispose()", 10_000);
      const asyncDispose = provider[Symbol.asyncDispose];
      expect(typeof asyncDispose, "a provider with dispose() also has Symbol.asyncDispose").toBe("function");
    },
  }),
];
