/** Cases about output reaching the callbacks while the command runs. */
import { expect } from "vitest";
import { allOf, needsSeparateStderr, needsShell, needsStreaming } from "../case-conditions.ts";
import type { ContractCase } from "../contract-case.ts";
import { createContractSandbox } from "../create-contract-sandbox.ts";

const group = "streaming";

/** A chunk and when it arrived relative to the exec promise. */
interface ReceivedChunk {
  text: string;
  at: number;
  afterResolve: boolean;
}

/** Streaming cases, in run order. */
export const streamingCases: readonly ContractCase[] = [
  {
    id: "stream-stdout",
    group,
    title: "sends stdout to onStdout in order, while the command runs and before exec resolves",
    timeoutMs: 10_000,
    skipReason: allOf(needsShell, needsStreaming),
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const chunks: ReceivedChunk[] = [];
      let resolved = false;
      const execution = sandbox.exec(["sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.2; done"], {
        onStdout: (text) => chunks.push({ text, at: Date.now(), afterResolve: resolved }),
      });
      const result = await execution.then((value) => {
        resolved = true;
        return value;
      });
      const resolvedAt = Date.now();
      expect(result.stdout).toBe("1\n2\n3\n");
      expect(chunks.map((chunk) => chunk.text).join("")).toBe(result.stdout);
      expect(
        chunks.some((chunk) => chunk.afterResolve),
        "a chunk arrived after exec resolved",
      ).toBe(false);
      const first = chunks[0];
      expect(first, "no chunk reached onStdout").toBeDefined();
      // The loop runs 0.6 s after its first line: a backend that replays output at the end fails here.
      expect(
        resolvedAt - (first?.at ?? resolvedAt),
        "first chunk arrived only at the end",
      ).toBeGreaterThanOrEqual(150);
    },
  },
  {
    id: "stream-stderr",
    group,
    title: "sends stderr to onStderr and not to onStdout",
    timeoutMs: 10_000,
    skipReason: allOf(needsShell, needsStreaming, needsSeparateStderr),
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const stdout: string[] = [];
      const stderr: string[] = [];
      const result = await sandbox.exec(["sh", "-c", "echo out; echo err >&2; sleep 0.1; echo err2 >&2"], {
        onStdout: (text) => stdout.push(text),
        onStderr: (text) => stderr.push(text),
      });
      expect(stdout.join("")).toBe("out\n");
      expect(stderr.join("")).toBe("err\nerr2\n");
      expect(result.stderr).toBe("err\nerr2\n");
    },
  },
];
