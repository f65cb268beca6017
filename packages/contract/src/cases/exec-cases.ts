/** Cases about running commands: argv and shell forms, exit codes, streams, env, cwd, arguments. */
import type { ExecResult } from "@sandport/core";
import { expect } from "vitest";
import { needsShell } from "../case-conditions.ts";
import { scopedCase } from "../case-scope.ts";
import type { ContractCase } from "../contract-case.ts";
import { createContractSandbox } from "../create-contract-sandbox.ts";
import { expectSandportError } from "../expect-sandport-error.ts";
import { workingDirectory } from "../sandbox-text.ts";

const group = "exec";

/** Arguments a naive join-and-run-through-a-shell implementation would mangle. */
export const trickyArguments: readonly string[] = [
  "with space",
  "single ' quote",
  'double " quote',
  "$HOME",
  "`echo backtick`",
  "$(echo substitution)",
  "line one\nline two",
  "héllo wörld ✓ 𝄞",
  "",
  "*",
  "a;b|c&d>e",
  "-n",
  "%s %d \\n",
];

/** Prints each argument as `[arg]`, so empty and whitespace-only arguments stay visible. */
const bracketEach = 'for a in "$@"; do printf "[%s]" "$a"; done';

function combinedOutput(result: ExecResult): string {
  return result.stdout + result.stderr;
}

/** Exec cases, in run order. */
export const execCases: readonly ContractCase[] = [
  {
    id: "exec-argv",
    group,
    title: "runs an argv command and reports stdout, exit code 0 and an untouched result",
    timeoutMs: 10_000,
    skipReason: needsShell,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const result = await sandbox.exec(["echo", "hello", "world"]);
      expect(result).toMatchObject({
        exitCode: 0,
        stdout: "hello world\n",
        timedOut: false,
        truncated: false,
      });
      expect(result.stderr).toBe("");
      expect(result.durationMs).toBeGreaterThanOrEqual(0);
    },
  },
  {
    id: "exec-shell",
    group,
    title: "runs a { shell } command through sh -c (pipes, &&, expansion)",
    timeoutMs: 10_000,
    skipReason: needsShell,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const result = await sandbox.exec({ shell: 'echo one && echo two | tr a-z A-Z; echo "$((2 + 3))"' });
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toBe("one\nTWO\n5\n");
    },
  },
  {
    id: "exec-exit-codes",
    group,
    title: "reports exit codes 0, 3 and 255 as results, not errors",
    timeoutMs: 10_000,
    skipReason: needsShell,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      expect((await sandbox.exec(["sh", "-c", "exit 0"])).exitCode).toBe(0);
      expect((await sandbox.exec(["sh", "-c", "exit 3"])).exitCode).toBe(3);
      expect((await sandbox.exec(["sh", "-c", "exit 255"])).exitCode).toBe(255);
      expect((await sandbox.exec({ shell: "exit 3" })).exitCode).toBe(3);
    },
  },
  {
    id: "exec-stdout-stderr",
    group,
    title: "reports stdout and stderr separately (or folded into stdout without features.separateStderr)",
    timeoutMs: 10_000,
    skipReason: needsShell,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const result = await sandbox.exec(["sh", "-c", "echo to-stdout; echo to-stderr >&2"]);
      expect(result.exitCode).toBe(0);
      if (contract.capabilities.features.separateStderr) {
        expect(result.stdout).toBe("to-stdout\n");
        expect(result.stderr).toBe("to-stderr\n");
      } else {
        expect(combinedOutput(result)).toContain("to-stdout\n");
        expect(combinedOutput(result)).toContain("to-stderr\n");
      }
    },
  },
  {
    id: "exec-argv-unchanged",
    group,
    title:
      "passes argv arguments through unchanged (spaces, quotes, $HOME, backticks, newlines, unicode, empty)",
    timeoutMs: 10_000,
    skipReason: needsShell,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const result = await sandbox.exec(["sh", "-c", bracketEach, "sh", ...trickyArguments]);
      // One comparison, so a mangled command shows its exit code and its output together.
      expect({ exitCode: result.exitCode, stdout: result.stdout }).toEqual({
        exitCode: 0,
        stdout: trickyArguments.map((argument) => `[${argument}]`).join(""),
      });
    },
  },
  {
    id: "exec-env",
    group,
    title: "applies env from the create request, overridden per command by exec env",
    timeoutMs: 10_000,
    skipReason: needsShell,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract, {
        env: { SANDPORT_CONTRACT_CREATE: "from create", SANDPORT_CONTRACT_BOTH: "create" },
      });
      const print = [
        "sh",
        "-c",
        'printf "%s|%s|%s" "$SANDPORT_CONTRACT_CREATE" "$SANDPORT_CONTRACT_EXEC" "$SANDPORT_CONTRACT_BOTH"',
      ];
      const withExecEnv = await sandbox.exec(print, {
        env: { SANDPORT_CONTRACT_EXEC: "from exec", SANDPORT_CONTRACT_BOTH: "exec" },
      });
      expect(withExecEnv.stdout).toBe("from create|from exec|exec");
      // Exec env applies to that one command only.
      const withoutExecEnv = await sandbox.exec(print);
      expect(withoutExecEnv.stdout).toBe("from create||create");
    },
  },
  {
    id: "exec-cwd-relative",
    group,
    title: "runs in a relative cwd, resolved against the sandbox's working directory",
    timeoutMs: 10_000,
    skipReason: needsShell,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      expect((await sandbox.exec(["mkdir", "-p", "sub/dir"])).exitCode).toBe(0);
      const inside = await sandbox.exec(["sh", "-c", "pwd -P; echo marker > marker.txt"], { cwd: "sub/dir" });
      expect(inside.exitCode).toBe(0);
      expect(inside.stdout).toMatch(/\/sub\/dir\n$/);
      const fromRoot = await sandbox.exec(["cat", "sub/dir/marker.txt"]);
      expect(fromRoot.stdout).toBe("marker\n");
    },
  },
  {
    id: "exec-cwd-absolute",
    group,
    title: "runs in an absolute cwd",
    timeoutMs: 10_000,
    skipReason: needsShell,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const root = (await sandbox.exec(["pwd", "-P"])).stdout.trim();
      expect(root.startsWith("/"), root).toBe(true);
      expect((await sandbox.exec(["mkdir", "-p", "absolute"])).exitCode).toBe(0);
      const directory = `${root === "/" ? "" : root}/absolute`;
      const result = await sandbox.exec(["pwd", "-P"], { cwd: directory });
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toBe(`${directory}\n`);
    },
  },
  {
    id: "exec-empty-argv",
    group,
    title: "rejects an empty argv with invalid_request",
    timeoutMs: 10_000,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      await expectSandportError(() => sandbox.exec([]), "invalid_request");
    },
  },
  scopedCase({
    id: "exec-signal-exit-codes",
    group,
    title:
      "reports a command ended by a signal as 128 + n: SIGTERM 143, SIGKILL 137, also for a waited-for child",
    timeoutMs: 20_000,
    skipReason: needsShell,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      const commands = {
        "kill -TERM $$": 143,
        "kill -KILL $$": 137,
        "sleep 10 & kill -9 $!; wait $!": 137,
      };
      const actual: Record<string, number> = {};
      for (const script of Object.keys(commands)) {
        const result = await scope.within(
          sandbox.exec(["sh", "-c", script]),
          `exec(["sh", "-c", "${script}"]) (a command that ignores the signal keeps running)`,
          5_000,
        );
        actual[script] = result.exitCode;
      }
      // One comparison, so every command's exit code shows at once.
      expect(actual, "exit codes of commands ended by a signal").toEqual(commands);
    },
  }),
  scopedCase({
    id: "exec-missing-cwd-invalid",
    group,
    title: "rejects a cwd that does not exist, relative or absolute, with invalid_request",
    timeoutMs: 15_000,
    skipReason: needsShell,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      const root = await workingDirectory(scope, sandbox, "S");
      for (const cwd of [
        "sandport-contract-missing/dir",
        `${root === "/" ? "" : root}/sandport-contract-missing`,
      ]) {
        await scope.within(
          expectSandportError(() => sandbox.exec(["pwd"], { cwd }), "invalid_request"),
          `exec(["pwd"], { cwd: "${cwd}" })`,
          10_000,
        );
      }
    },
  }),
  scopedCase({
    id: "exec-concurrent",
    group,
    title: "runs four commands at once in one sandbox, each with its own exit code and output",
    timeoutMs: 20_000,
    skipReason: needsShell,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      const indexes = [0, 1, 2, 3];
      const script = 'sleep 0.3; echo "out-$1"; echo "err-$1" >&2; exit "$1"';
      const results = await scope.within(
        Promise.all(indexes.map((index) => sandbox.exec(["sh", "-c", script, "sh", String(index)]))),
        "four concurrent exec calls",
        15_000,
      );
      const separate = scope.contract.capabilities.features.separateStderr;
      // Without separate streams stderr is folded into stdout: compare the lines, in any order.
      const lines = (text: string) =>
        text
          .split("\n")
          .filter((line) => line !== "")
          .sort();
      expect(
        results.map((result) =>
          separate
            ? { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr }
            : { exitCode: result.exitCode, lines: lines(result.stdout + result.stderr) },
        ),
        "each command's own exit code and output",
      ).toEqual(
        indexes.map((index) =>
          separate
            ? { exitCode: index, stdout: `out-${index}\n`, stderr: `err-${index}\n` }
            : { exitCode: index, lines: [`err-${index}`, `out-${index}`] },
        ),
      );
    },
  }),
];
