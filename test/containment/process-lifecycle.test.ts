/**
 * Class 3: the command must not be PID 1 of its pid namespace. As PID 1 it ignores signals it
 * has no handler for (so `kill -TERM $$` "succeeds" with exit 0) and inherits every orphan
 * without reaping it. The sandbox's own init must be something else that reaps, and survive the
 * command signalling everything it can.
 */
import { createLocalProvider, type LocalSandbox } from "@sandport/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  launchIsolations,
  outcomeOf,
  removePaths,
  temporaryDirectory,
  withDeadline,
} from "./containment-support.ts";

const isolations = await launchIsolations();

// Runs inside the sandbox: waits until the orphan whose pid is in `orphan-pid` is gone from
// /proc (reaped), and prints "reaped"; prints "zombie" if it is still unreaped at the deadline.
const waitForReaping = `
  const fs = require("node:fs");
  const deadline = Date.now() + 5000;
  const stateOf = (pid) => {
    try {
      const stat = fs.readFileSync("/proc/" + pid + "/stat", "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    } catch { return "gone"; }
  };
  const tick = () => {
    let pid = "";
    try { pid = fs.readFileSync("orphan-pid", "utf8").trim(); } catch {}
    const state = pid === "" ? "unknown" : stateOf(pid);
    if (state === "gone") { console.log("reaped"); return; }
    if (Date.now() > deadline) {
      const zombies = fs.readdirSync("/proc").filter((entry) => /^\\d+$/.test(entry) && stateOf(entry) === "Z");
      console.log("zombie " + state + " zombies=" + zombies.length);
      return;
    }
    setTimeout(tick, 20);
  };
  tick();`;

describe.each(isolations)("the command is not PID 1 (%s)", (isolation) => {
  const stateDirectory = temporaryDirectory(`sandport-lifecycle-${isolation}`);
  const provider = createLocalProvider({ isolation, stateDirectory });
  let sandbox: LocalSandbox | undefined;

  beforeAll(async () => {
    sandbox = await withDeadline(provider.create({}), 30_000, "create");
  }, 60_000);

  afterAll(async () => {
    await sandbox?.destroy().catch(() => {});
    removePaths(stateDirectory);
  });

  it("a shell that sends itself SIGTERM dies of it: exit 143", async () => {
    const result = await withDeadline(
      (sandbox as LocalSandbox).exec(["sh", "-c", "kill -TERM $$; echo survived"]),
      30_000,
      "kill -TERM $$",
    );
    expect(result.stdout).not.toContain("survived");
    expect(result.exitCode).toBe(143);
  }, 60_000);

  it("a shell that sends itself SIGKILL dies of it: exit 137", async () => {
    const result = await withDeadline(
      (sandbox as LocalSandbox).exec({ shell: "kill -KILL $$; echo survived" }),
      30_000,
      "kill -KILL $$",
    );
    expect(result.stdout).not.toContain("survived");
    expect(result.exitCode).toBe(137);
  }, 60_000);

  it("a program sent SIGINT by itself dies of it: exit 130", async () => {
    const result = await withDeadline(
      (sandbox as LocalSandbox).exec([
        "node",
        "-e",
        "process.kill(process.pid, 'SIGINT'); setTimeout(() => console.log('survived'), 2000)",
      ]),
      30_000,
      "node kills itself",
    );
    expect(result.stdout).not.toContain("survived");
    expect(result.exitCode).toBe(130);
  }, 60_000);

  it("reaps orphans: a process whose parent exited does not stay a zombie", async () => {
    const box = sandbox as LocalSandbox;
    await box.exec(["rm", "-f", "orphan-pid"]);
    // The subshell exits at once, orphaning the sleep; then the command becomes a program that
    // never waits for children, so only a real init can reap the orphan.
    const result = await withDeadline(
      box.exec([
        "sh",
        "-c",
        `(sh -c 'echo $$ > orphan-pid; exec sleep 0.2' &); exec node -e "$1"`,
        "sh",
        waitForReaping,
      ]),
      30_000,
      "orphan reaping",
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe("reaped");
  }, 60_000);

  it.each([
    "kill -TERM 1",
    "kill -INT 1",
    "kill -HUP 1",
    "kill -USR1 1",
    "kill -KILL 1",
    "kill -STOP 1; sleep 0.5; kill -CONT 1",
    "kill -TERM -1",
    "kill -KILL -1",
    "kill -KILL 1; kill -TERM 1; kill -KILL -1",
  ])(
    "survives `%s` from inside, and runs the next command",
    async (attack) => {
      // A sandbox of its own: a supervisor the signal stops takes the sandbox with it.
      const target = await withDeadline(provider.create({}), 30_000, "create");
      try {
        const result = await withDeadline(
          target.exec({ shell: `${attack} 2>/dev/null; sleep 0.5; echo after` }),
          30_000,
          attack,
        ).catch((error: unknown) => error);
        // The command may take itself down (`kill -1`); what matters is that the sandbox still works.
        expect((result as { timedOut?: boolean }).timedOut, String(result)).not.toBe(true);
        const next = await withDeadline(outcomeOf(target.exec(["echo", "alive"])), 30_000, "next command");
        expect(next.ok ? next.value : { error: next.message }).toMatchObject({
          exitCode: 0,
          stdout: "alive\n",
        });
      } finally {
        await target.destroy().catch(() => {});
      }
    },
    60_000,
  );
});
