/** Cases about runCode, one per declared language. */
import { type ExecResult, type Runtime, runtimes } from "@sandport/core";
import { expect } from "vitest";
import { needsRuntime } from "../case-conditions.ts";
import type { ContractCase } from "../contract-case.ts";
import { createContractSandbox } from "../create-contract-sandbox.ts";

const group = "runCode";

/** A marker the failing snippets put in their error, to find it in the output. */
const failureMarker = "sandport-contract-failure";

/** Per language: a snippet that prints 42, and one that fails with an uncaught error. */
const snippets: Record<Runtime, { prints42: string; fails: string }> = {
  shell: { prints42: "echo 42", fails: `${failureMarker}-command` },
  python: { prints42: "print(42)", fails: `raise RuntimeError("${failureMarker}")` },
  javascript: { prints42: "console.log(42)", fails: `throw new Error("${failureMarker}")` },
  typescript: {
    prints42: "const answer: number = 42;\nconsole.log(answer);",
    fails: `const message: string = "${failureMarker}";\nthrow new Error(message);`,
  },
};

function runCodeCase(language: Runtime): ContractCase {
  return {
    id: `run-code-${language}`,
    group,
    title: `runCode(${language}) prints 42; an uncaught error exits non-zero with the message on stderr`,
    timeoutMs: 20_000,
    skipReason: needsRuntime(language),
    async run(contract, controls) {
      await using sandbox = await createContractSandbox(contract, { runtime: language });
      const runCode = sandbox.runCode?.bind(sandbox);
      if (runCode === undefined) return controls.skip("the sandbox has no runCode");
      const { prints42, fails } = snippets[language];
      const ok = await runCode(prints42, { language });
      expect(ok).toMatchObject({ exitCode: 0, stdout: "42\n", timedOut: false });
      const failed: ExecResult = await runCode(fails, { language });
      expect(failed.exitCode).not.toBe(0);
      const errorText = contract.capabilities.features.separateStderr
        ? failed.stderr
        : failed.stdout + failed.stderr;
      expect(errorText).toContain(failureMarker);
    },
  };
}

/** runCode cases, in run order. */
export const runCodeCases: readonly ContractCase[] = runtimes.map(runCodeCase);
