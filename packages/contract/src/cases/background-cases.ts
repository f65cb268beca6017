/** Cases about background processes (`sandbox.spawn`), for providers that declare features.background. */
import type { Command, Sandbox, SandboxProcess, SpawnOptions } from "@sandport/core";
import { assert, expect } from "vitest";
import { allOf, needsBackground, needsProcessStdin, needsShell } from "../case-conditions.ts";
import type { CaseScope } from "../case-scope.ts";
import { scopedCase } from "../case-scope.ts";
import type { ContractCase } from "../contract-case.ts";
import { expectSandportError } from "../expect-sandport-error.ts";
import { sleep } from "../sleep.ts";

const group = "background";
// Background first, so a provider without spawn is told that rather than what else it lacks.
const needsShellAndBackground = allOf(needsBackground, needsShell);

/** Spawns `command` within the deadline; the process is killed when the case ends. */
async function startProcess(
  scope: CaseScope,
  sandbox: Sandbox,
  command: Command,
  options?: SpawnOptions,
): Promise<SandboxProcess> {
  const spawn = sandbox.spawn?.bind(sandbox);
  if (spawn === undefined) assert.fail("features.background is declared, but the sandbox has no spawn()");
  const started = await scope.within(spawn(command, options), `spawn(${JSON.stringify(command)})`, 10_000);
  // Killing a process that already ended is not an error.
  scope.defer(`kill of ${JSON.stringify(command)}`, () => started.kill());
  return started;
}

/** Reads chunks until the text read contains `text` or the stream ends; returns all text read. */
async function readUntil(chunks: AsyncIterator<string>, text: string): Promise<string> {
  let seen = "";
  while (!seen.includes(text)) {
    const next = await chunks.next();
    if (next.done) break;
    seen += next.value;
  }
  return seen;
}

/** Reads the rest of a stream. */
async function readToEnd(chunks: AsyncIterator<string>): Promise<string> {
  let seen = "";
  for (;;) {
    const next = await chunks.next();
    if (next.done) return seen;
    seen += next.value;
  }
}

/** Exit 0 while `pid` runs (a zombie counts as ended: nothing is left of it but its exit status). */
const isRunning =
  'kill -0 "$1" 2>/dev/null || exit 1; case "$(sed -n "s/^State:[[:space:]]*\\(.\\).*/\\1/p" "/proc/$1/status" 2>/dev/null)" in Z) exit 1;; esac; exit 0';

/** Background process cases, in run order. */
export const backgroundCases: readonly ContractCase[] = [
  scopedCase({
    id: "spawn-streams",
    group,
    title: "streams stdout while the process runs, beside other commands, and wait() gives the result",
    timeoutMs: 20_000,
    skipReason: needsShellAndBackground,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      const spawned = await startProcess(scope, sandbox, [
        "sh",
        "-c",
        "echo ready; while [ ! -e spawn-go ]; do sleep 0.05; done; echo done",
      ]);
      const stdout = spawned.stdout[Symbol.asyncIterator]();
      const first = await scope.within(
        readUntil(stdout, "ready\n"),
        'the first stdout ("ready") while the process waits (output held back until the end?)',
        5_000,
      );
      expect(first, "stdout while the process waits").toBe("ready\n");
      // A command run beside the background process lets it finish.
      const touched = await scope.within(
        sandbox.exec(["touch", "spawn-go"]),
        "exec beside the process",
        10_000,
      );
      expect(touched.exitCode, "touch spawn-go").toBe(0);
      const result = await scope.within(spawned.wait(), "wait() once the process may end", 5_000);
      const rest = await scope.within(readToEnd(stdout), "the end of stdout after the process ended", 5_000);
      expect({ exitCode: result.exitCode, stdout: result.stdout, streamed: first + rest }).toEqual({
        exitCode: 0,
        stdout: "ready\ndone\n",
        streamed: "ready\ndone\n",
      });
    },
  }),
  scopedCase({
    id: "spawn-stdin",
    group,
    title: "takes writeStdin until closeStdin, refuses input after it, and closeStdin is idempotent",
    timeoutMs: 20_000,
    skipReason: allOf(needsShellAndBackground, needsProcessStdin),
    async run(scope) {
      const sandbox = await scope.createSandbox();
      const spawned = await startProcess(scope, sandbox, [
        "sh",
        "-c",
        'echo ready; read line; echo "got:$line"',
      ]);
      const stdout = spawned.stdout[Symbol.asyncIterator]();
      await scope.within(readUntil(stdout, "ready\n"), 'the first stdout ("ready")', 5_000);
      await scope.within(spawned.writeStdin("hello\n"), 'writeStdin("hello\\n")', 5_000);
      await scope.within(spawned.closeStdin(), "closeStdin()", 5_000);
      const result = await scope.within(
        spawned.wait(),
        "wait() after the input was written and closed",
        5_000,
      );
      expect({ exitCode: result.exitCode, stdout: result.stdout }).toEqual({
        exitCode: 0,
        stdout: "ready\ngot:hello\n",
      });
      await scope.within(
        expectSandportError(() => spawned.writeStdin("too late\n"), "invalid_request"),
        "writeStdin after closeStdin",
        5_000,
      );
      await scope.within(spawned.closeStdin(), "a second closeStdin() (idempotent)", 5_000);
    },
  }),
  scopedCase({
    id: "spawn-kill-signals",
    group,
    title: 'kill("SIGTERM") ends a process with 143, kill() sends SIGKILL: 137',
    timeoutMs: 25_000,
    skipReason: needsShellAndBackground,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      const actual: Record<string, number> = {};
      for (const signal of ["SIGTERM", undefined] as const) {
        const label = signal === undefined ? "kill()" : `kill("${signal}")`;
        const spawned = await startProcess(scope, sandbox, ["sh", "-c", "echo ready; exec sleep 30"]);
        const stdout = spawned.stdout[Symbol.asyncIterator]();
        await scope.within(readUntil(stdout, "ready\n"), `the process to start before ${label}`, 5_000);
        await scope.within(signal === undefined ? spawned.kill() : spawned.kill(signal), label, 5_000);
        const result = await scope.within(
          spawned.wait(),
          `wait() after ${label} (a process that ignores the signal keeps running)`,
          5_000,
        );
        actual[label] = result.exitCode;
      }
      expect(actual, "exit codes after kill").toEqual({ 'kill("SIGTERM")': 143, "kill()": 137 });
    },
  }),
  scopedCase({
    id: "spawn-kill-children",
    group,
    title: "kill() ends the process and every process it started",
    timeoutMs: 25_000,
    skipReason: needsShellAndBackground,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      const spawned = await startProcess(scope, sandbox, [
        "sh",
        "-c",
        'sleep 30 & echo "$!"; (sleep 1; echo late > spawn-late.txt) & wait',
      ]);
      const started = Date.now();
      const stdout = spawned.stdout[Symbol.asyncIterator]();
      const line = await scope.within(readUntil(stdout, "\n"), "the pid of the background child", 5_000);
      const pid = line.trim();
      expect(pid, "the child's pid").toMatch(/^\d+$/);
      await scope.within(spawned.kill(), "kill()", 5_000);
      await scope.within(spawned.wait(), "wait() after kill()", 5_000);
      // The child may take a moment to be reaped.
      const goneBy = Date.now() + scope.scaled(2_000);
      let running = await scope.within(
        sandbox.exec(["sh", "-c", isRunning, "sh", pid]),
        `checking pid ${pid}`,
        5_000,
      );
      while (running.exitCode === 0 && Date.now() < goneBy) {
        await sleep(100);
        running = await scope.within(
          sandbox.exec(["sh", "-c", isRunning, "sh", pid]),
          `checking pid ${pid}`,
          5_000,
        );
      }
      expect(running.exitCode, `the child (pid ${pid}) still runs after kill()`).not.toBe(0);
      // Past the moment the second child would have written its file.
      await sleep(Math.max(0, started + 1_500 - Date.now()));
      const late = await scope.within(
        sandbox.exec(["test", "-e", "spawn-late.txt"]),
        "checking for spawn-late.txt",
        5_000,
      );
      expect(late.exitCode, "spawn-late.txt exists: a child of the killed process outlived it").toBe(1);
    },
  }),
];
