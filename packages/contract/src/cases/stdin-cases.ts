/** Cases about standard input. */
import { expect } from "vitest";
import { allOf, needsShell, needsStdin } from "../case-conditions.ts";
import { scopedCase } from "../case-scope.ts";
import type { ContractCase } from "../contract-case.ts";
import { createContractSandbox } from "../create-contract-sandbox.ts";

const group = "stdin";
const needsShellAndStdin = allOf(needsShell, needsStdin);

/** Stdin cases, in run order. */
export const stdinCases: readonly ContractCase[] = [
  {
    id: "stdin-text",
    group,
    title: "delivers stdin text exactly, control characters and unicode included, then closes it",
    timeoutMs: 10_000,
    skipReason: needsShellAndStdin,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const text = "line one\nline two\r\n\ttab \u0001\u001b[0m\u007f é ✓ 𝄞\nno trailing newline";
      const result = await sandbox.exec(["cat"], { stdin: text });
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toBe(text);
    },
  },
  {
    id: "stdin-bytes",
    group,
    title: "delivers all 256 byte values of a Uint8Array stdin exactly",
    timeoutMs: 10_000,
    skipReason: needsShellAndStdin,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const bytes = Uint8Array.from({ length: 256 }, (_, index) => index);
      // od prints every byte as a decimal number, so no byte has to survive a UTF-8 decode.
      const result = await sandbox.exec(["od", "-An", "-v", "-tu1"], { stdin: bytes });
      expect(result.exitCode).toBe(0);
      const received = result.stdout.trim().split(/\s+/).map(Number);
      expect(received).toEqual(Array.from(bytes));
    },
  },
  {
    id: "stdin-empty",
    group,
    title: "delivers an empty stdin as immediate end of input",
    timeoutMs: 10_000,
    skipReason: needsShellAndStdin,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const result = await sandbox.exec(["wc", "-c"], { stdin: "" });
      expect(result.exitCode).toBe(0);
      expect(result.stdout.trim()).toBe("0");
      const empty = await sandbox.exec(["cat"], { stdin: new Uint8Array(0) });
      expect(empty).toMatchObject({ exitCode: 0, stdout: "" });
    },
  },
  scopedCase({
    id: "exec-no-stdin-eof",
    group,
    // Every provider, with or without features.stdin: without stdin a command must not wait for input.
    title: "gives a command without stdin immediate end of input: cat returns at once with no output",
    timeoutMs: 15_000,
    skipReason: needsShell,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      const result = await scope.within(
        sandbox.exec(["cat"]),
        'exec(["cat"]) without stdin (cat still waiting means its input was left open)',
        5_000,
      );
      expect(result).toMatchObject({ exitCode: 0, stdout: "", timedOut: false });
    },
  }),
];
