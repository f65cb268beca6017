/** Cases about per-command timeouts, exec abort and output caps. */
import type { Sandbox } from "@sandport/core";
import { expect } from "vitest";
import { allOf, needsSeparateStderr, needsShell } from "../case-conditions.ts";
import { scopedCase } from "../case-scope.ts";
import type { ContractCase } from "../contract-case.ts";
import type { ContractContext } from "../contract-context.ts";
import { createContractSandbox } from "../create-contract-sandbox.ts";
import { expectSandportError } from "../expect-sandport-error.ts";
import { sleep } from "../sleep.ts";

const group = "timeouts, abort and output limits";

/** Starts a child that writes late.txt after 1 s, then sleeps 30 s in the foreground. */
const childWritesLate = ["sh", "-c", "(sleep 1; echo late > late.txt) & sleep 30"];

/** Upper bound for "returned well before the 30 s sleep ended", allowing for slow backends. */
function returnedQuicklyMs(contract: ContractContext): number {
  return Math.min(20_000, 5_000 * contract.timeoutScale);
}

/** Waits past the moment the child would have written late.txt, then asserts it never did. */
async function expectChildKilled(contract: ContractContext, sandbox: Sandbox): Promise<void> {
  await sleep(1_500);
  if (contract.capabilities.features.filesystem) {
    await expectSandportError(() => sandbox.readFile("late.txt"), "not_found");
  } else {
    const probe = await sandbox.exec(["test", "-e", "late.txt"]);
    expect(probe.exitCode, "late.txt exists: a child of the command outlived it").toBe(1);
  }
}

const manyBytes = ["sh", "-c", "head -c 100000 /dev/zero | tr '\\0' a"];

/** Limit cases, in run order. */
export const limitCases: readonly ContractCase[] = [
  {
    id: "exec-timeout-kills-children",
    group,
    title: "kills the command and its children at timeoutMs, sets timedOut and keeps the sandbox usable",
    timeoutMs: 15_000,
    skipReason: needsShell,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const started = Date.now();
      const result = await sandbox.exec(childWritesLate, { timeoutMs: 300 });
      const elapsed = Date.now() - started;
      expect(result.timedOut).toBe(true);
      expect(result.exitCode).not.toBe(0);
      expect(elapsed, "exec returned long after timeoutMs").toBeLessThan(returnedQuicklyMs(contract));
      await expectChildKilled(contract, sandbox);
      const after = await sandbox.exec(["echo", "still usable"]);
      expect(after).toMatchObject({ exitCode: 0, stdout: "still usable\n", timedOut: false });
    },
  },
  {
    id: "exec-abort-kills-children",
    group,
    title: "rejects exec with aborted when its signal fires, and kills the command and its children",
    timeoutMs: 15_000,
    skipReason: needsShell,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 300);
      const started = Date.now();
      try {
        await expectSandportError(
          () => sandbox.exec(childWritesLate, { signal: controller.signal }),
          "aborted",
        );
      } finally {
        clearTimeout(timer);
      }
      expect(Date.now() - started, "exec settled long after the abort").toBeLessThan(
        returnedQuicklyMs(contract),
      );
      await expectChildKilled(contract, sandbox);
      await expectSandportError(
        () => sandbox.exec(["echo", "never"], { signal: AbortSignal.abort() }),
        "aborted",
      );
    },
  },
  {
    id: "exec-max-output-bytes",
    group,
    title: "keeps at most maxOutputBytes of output and sets truncated",
    timeoutMs: 10_000,
    skipReason: needsShell,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const result = await sandbox.exec(manyBytes, { maxOutputBytes: 1_000 });
      expect(result.truncated).toBe(true);
      expect(new TextEncoder().encode(result.stdout).byteLength).toBeLessThanOrEqual(1_000);
      expect(result.stdout).toMatch(/^a+$/);
    },
  },
  {
    id: "exec-output-whole",
    group,
    title: "returns 100000 bytes of output whole when no cap is given",
    timeoutMs: 10_000,
    skipReason: needsShell,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const result = await sandbox.exec(manyBytes);
      expect(result.exitCode).toBe(0);
      expect(result.truncated).toBe(false);
      expect(result.stdout.length).toBe(100_000);
      expect(result.stdout).toBe("a".repeat(100_000));
    },
  },
  scopedCase({
    id: "exec-max-output-bytes-stderr",
    group,
    title: "applies maxOutputBytes to stderr too, cutting multi-byte characters cleanly",
    timeoutMs: 15_000,
    skipReason: allOf(needsShell, needsSeparateStderr),
    async run(scope) {
      const sandbox = await scope.createSandbox();
      const ascii = await scope.within(
        sandbox.exec(["sh", "-c", "echo out; head -c 10240 /dev/zero | tr '\\0' e >&2"], {
          maxOutputBytes: 100,
        }),
        "exec writing 10 KiB to stderr",
        10_000,
      );
      expect(ascii.truncated, "truncated after 10 KiB of stderr with maxOutputBytes 100").toBe(true);
      expect(ascii.stdout).toBe("out\n");
      expect(new TextEncoder().encode(ascii.stderr).byteLength, "bytes of stderr kept").toBeLessThanOrEqual(
        100,
      );
      expect(ascii.stderr).toMatch(/^e+$/);
      // "é" is two bytes: a cap of 101 falls inside one. A partly kept character may be dropped
      // (or, at most, shown as one U+FFFD), but the text must stay within the cap.
      const twoByte = await scope.within(
        sandbox.exec(
          ["sh", "-c", "i=0; while [ $i -lt 200 ]; do printf 'éééééééééé' >&2; i=$((i + 1)); done"],
          {
            maxOutputBytes: 101,
          },
        ),
        "exec writing 4000 bytes of two-byte characters to stderr",
        10_000,
      );
      expect(twoByte.truncated).toBe(true);
      expect(new TextEncoder().encode(twoByte.stderr).byteLength, "bytes of stderr kept").toBeLessThanOrEqual(
        101,
      );
      expect(twoByte.stderr).toMatch(/^é+\uFFFD?$/u);
    },
  }),
];
