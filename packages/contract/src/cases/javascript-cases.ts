/**
 * Cases run through `runCode("javascript")`, so backends without a shell (V8 isolates) are held to
 * the same files, environment, timeout and output rules as the rest. The snippets are ES modules
 * using `node:fs` with paths relative to the workspace, which every JavaScript backend provides.
 */
import type { Sandbox } from "@sandport/core";
import { expect } from "vitest";
import { decodeUtf8 } from "../bytes.ts";
import { allOf, needsFilesystem, needsNetworkMode, needsRuntime } from "../case-conditions.ts";
import type { ContractCase } from "../contract-case.ts";
import { createContractSandbox } from "../create-contract-sandbox.ts";

const group = "runCode javascript";
const needsJavaScript = needsRuntime("javascript");

/** The sandbox's runCode, or a skip when it has none. */
function runCodeOf(sandbox: Sandbox, skip: (note: string) => never): NonNullable<Sandbox["runCode"]> {
  return sandbox.runCode?.bind(sandbox) ?? skip("the sandbox has no runCode");
}

/** JavaScript cases, in run order. */
export const javascriptCases: readonly ContractCase[] = [
  {
    id: "run-code-javascript-files",
    group,
    title: "code reads files written with writeFile, and readFile sees the files the code wrote",
    timeoutMs: 20_000,
    skipReason: allOf(needsJavaScript, needsFilesystem),
    async run(contract, controls) {
      await using sandbox = await createContractSandbox(contract, { runtime: "javascript" });
      const runCode = runCodeOf(sandbox, controls.skip);
      await sandbox.writeFile("input/words.txt", "alpha beta\n");
      const code = [
        'import { mkdirSync, readFileSync, writeFileSync } from "node:fs";',
        'const words = readFileSync("input/words.txt", "utf8");',
        'mkdirSync("output/deep", { recursive: true });',
        'writeFileSync("output/deep/upper.txt", words.toUpperCase());',
        "console.log(words.trim().split(' ').length);",
      ].join("\n");
      const result = await runCode(code, { language: "javascript" });
      expect(result).toMatchObject({ exitCode: 0, stdout: "2\n", timedOut: false });
      expect(decodeUtf8(await sandbox.readFile("output/deep/upper.txt"))).toBe("ALPHA BETA\n");
      // A later run sees what an earlier one left.
      const again = await runCode(
        'import { readFileSync } from "node:fs";\nconsole.log(readFileSync("output/deep/upper.txt", "utf8").trim());',
        {
          language: "javascript",
        },
      );
      expect(again).toMatchObject({ exitCode: 0, stdout: "ALPHA BETA\n" });
    },
  },
  {
    id: "run-code-javascript-env",
    group,
    title: "code sees the sandbox's env and the run's env, the run's winning",
    timeoutMs: 20_000,
    skipReason: needsJavaScript,
    async run(contract, controls) {
      await using sandbox = await createContractSandbox(contract, {
        runtime: "javascript",
        env: { SANDPORT_CONTRACT_SANDBOX: "from-sandbox", SANDPORT_CONTRACT_BOTH: "sandbox" },
      });
      const runCode = runCodeOf(sandbox, controls.skip);
      const result = await runCode(
        "console.log([process.env.SANDPORT_CONTRACT_SANDBOX, process.env.SANDPORT_CONTRACT_RUN, process.env.SANDPORT_CONTRACT_BOTH].join(' '));",
        { language: "javascript", env: { SANDPORT_CONTRACT_RUN: "from-run", SANDPORT_CONTRACT_BOTH: "run" } },
      );
      expect(result).toMatchObject({ exitCode: 0, stdout: "from-sandbox from-run run\n" });
    },
  },
  {
    id: "run-code-javascript-timeout",
    group,
    title: "stops a busy loop at timeoutMs with timedOut, and the sandbox keeps working",
    timeoutMs: 20_000,
    skipReason: needsJavaScript,
    async run(contract, controls) {
      await using sandbox = await createContractSandbox(contract, { runtime: "javascript" });
      const runCode = runCodeOf(sandbox, controls.skip);
      const started = Date.now();
      const result = await runCode("while (true) {}", { language: "javascript", timeoutMs: 500 });
      expect(result.timedOut).toBe(true);
      expect(result.exitCode).not.toBe(0);
      expect(Date.now() - started, "runCode returned long after timeoutMs").toBeLessThan(
        Math.min(20_000, 5_000 * contract.timeoutScale),
      );
      const after = await runCode('console.log("still usable")', { language: "javascript" });
      expect(after).toMatchObject({ exitCode: 0, stdout: "still usable\n", timedOut: false });
    },
  },
  {
    id: "run-code-javascript-output-cap",
    group,
    title: "keeps at most maxOutputBytes of console output and sets truncated",
    timeoutMs: 20_000,
    skipReason: needsJavaScript,
    async run(contract, controls) {
      await using sandbox = await createContractSandbox(contract, { runtime: "javascript" });
      const runCode = runCodeOf(sandbox, controls.skip);
      const result = await runCode('for (let i = 0; i < 2000; i += 1) console.log("0123456789");', {
        language: "javascript",
        maxOutputBytes: 1000,
      });
      expect(result.truncated).toBe(true);
      expect(new TextEncoder().encode(result.stdout).byteLength).toBeLessThanOrEqual(1000);
      expect(result.stdout.startsWith("0123456789\n0123456789\n")).toBe(true);
    },
  },
  {
    id: "run-code-javascript-no-network",
    group,
    title: 'code in a sandbox with egress "none" cannot fetch',
    timeoutMs: 20_000,
    skipReason: allOf(needsJavaScript, needsNetworkMode("none")),
    async run(contract, controls) {
      await using sandbox = await createContractSandbox(contract, {
        runtime: "javascript",
        network: { egress: "none" },
      });
      const runCode = runCodeOf(sandbox, controls.skip);
      const code = [
        "try {",
        '  await fetch("http://example.com/", { signal: AbortSignal.timeout(3000) });',
        '  console.log("reached");',
        "} catch {",
        '  console.log("blocked");',
        "}",
      ].join("\n");
      const result = await runCode(code, { language: "javascript", timeoutMs: 10_000 });
      expect(result).toMatchObject({ exitCode: 0, stdout: "blocked\n" });
    },
  },
];
