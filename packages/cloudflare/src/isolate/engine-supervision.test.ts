/**
 * Local mode's engine supervision: a run past its timeout, a crash and an out-of-memory run each
 * cost only the run in flight; other sandboxes keep working and every sandbox keeps its files.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Sandbox } from "@sandport/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  type CloudflareIsolateProvider,
  createCloudflareIsolateProvider,
} from "../cloudflare-isolate-provider.ts";

/** Pids of the workerd processes that `parent` (default: this test process) started. */
function workerdChildren(parent: number = process.pid): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")".
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const parentPid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm === "workerd" && parentPid === parent) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting until ${what}`);
}

function run(sandbox: Sandbox, code: string, timeoutMs = 10_000) {
  const runCode = sandbox.runCode?.bind(sandbox);
  if (runCode === undefined) throw new Error("no runCode");
  return runCode(code, { language: "javascript", timeoutMs });
}

let provider: CloudflareIsolateProvider | undefined;
afterEach(async () => {
  await provider?.dispose();
  provider = undefined;
});

describe("engine supervision", () => {
  it("serves other sandboxes while one runs a busy loop, then stops the loop at its timeout", async () => {
    provider = createCloudflareIsolateProvider({ engines: 2 });
    await using runaway = await provider.create({});
    await using other = await provider.create({});
    await runaway.writeFile("kept.txt", "still here");
    let runawaySettled = false;
    const looping = run(runaway, "while (true) {}", 2_000).finally(() => {
      runawaySettled = true;
    });
    // Several runs of another sandbox complete while the busy loop holds its engine.
    for (let index = 0; index < 5; index += 1) {
      expect(await run(other, `return ${index}`)).toMatchObject({ exitCode: 0, value: index });
    }
    expect(runawaySettled).toBe(false);
    expect(await looping).toMatchObject({ timedOut: true, exitCode: 124 });
    expect(provider.engineRestarts).toBe(1);
    // The runaway's sandbox survives the restart, files included.
    const after = await run(
      runaway,
      'import { readFileSync } from "node:fs"; return readFileSync("kept.txt", "utf8");',
    );
    expect(after).toMatchObject({ exitCode: 0, value: "still here" });
  });

  it("runs again, on a fresh engine, what was queued behind a runaway when it has no network", async () => {
    provider = createCloudflareIsolateProvider({ engines: 1 });
    await using runaway = await provider.create({});
    await using queued = await provider.create({});
    await provider.warm();
    const looping = run(runaway, "while (true) {}", 500);
    const behind = run(queued, "return 'done'");
    expect(await looping).toMatchObject({ timedOut: true });
    expect(await behind).toMatchObject({ exitCode: 0, value: "done" });
  });

  it("fails what was queued behind a runaway with sandbox_failed when it may use the network", async () => {
    provider = createCloudflareIsolateProvider({ engines: 1, allowNetwork: true });
    await using runaway = await provider.create({});
    await using queued = await provider.create({ network: { egress: "open" } });
    await provider.warm();
    const looping = run(runaway, "while (true) {}", 500);
    const behind = run(queued, "return 'done'");
    expect(await looping).toMatchObject({ timedOut: true });
    // Running it again could repeat its requests, so the caller decides.
    await expect(behind).rejects.toMatchObject({ code: "sandbox_failed", isRetryable: true });
    expect(await run(queued, "return 'again'")).toMatchObject({ value: "again" });
  });

  it("reports a crash of the engine as sandbox_failed and keeps the sandbox's files", async () => {
    provider = createCloudflareIsolateProvider({ engines: 1 });
    await using sandbox = await provider.create({});
    await sandbox.writeFile("kept.txt", "safe");
    await provider.warm();
    const waiting = run(sandbox, "await new Promise((resolve) => setTimeout(resolve, 5000));");
    const [pid] = workerdChildren();
    expect(pid).toBeDefined();
    process.kill(pid as number, "SIGKILL");
    await expect(waiting).rejects.toMatchObject({ code: "sandbox_failed", isRetryable: true });
    expect(new TextDecoder().decode(await sandbox.readFile("kept.txt"))).toBe("safe");
    expect(await run(sandbox, "return 1 + 1")).toMatchObject({ exitCode: 0, value: 2 });
  });

  it("stops a run that exhausts its memory with sandbox_failed, and the engine comes back", async () => {
    provider = createCloudflareIsolateProvider({ engines: 1, memoryMb: 64 });
    await using sandbox = await provider.create({});
    const bomb = "const keep = []; while (true) keep.push(new Array(1e6).fill(Math.random()));";
    await expect(run(sandbox, bomb)).rejects.toMatchObject({ code: "sandbox_failed" });
    // A run well under the limit still works.
    expect(await run(sandbox, "return new Array(1e6).fill(1).length")).toMatchObject({ value: 1_000_000 });
  });

  it("replaces an engine after engineRecycleRuns runs without failing or losing a run", async () => {
    provider = createCloudflareIsolateProvider({ engines: 1, engineRecycleRuns: 3 });
    await using sandbox = await provider.create({});
    await sandbox.writeFile("count.txt", "0");
    const increment =
      'import { readFileSync, writeFileSync } from "node:fs";\nconst next = Number(readFileSync("count.txt", "utf8")) + 1;\nwriteFileSync("count.txt", String(next));\nreturn next;';
    for (let expected = 1; expected <= 8; expected += 1) {
      expect(await run(sandbox, increment)).toMatchObject({ exitCode: 0, value: expected });
    }
    expect(provider.engineRecycles).toBeGreaterThanOrEqual(2);
    expect(provider.engineRestarts).toBe(0);
  });

  it("stops idle engines and starts them again on demand; dispose leaves no engine behind", async () => {
    provider = createCloudflareIsolateProvider({ engines: 2, engineIdleMs: 100 });
    await using sandbox = await provider.create({});
    expect(await run(sandbox, "return 1")).toMatchObject({ value: 1 });
    expect(workerdChildren().length).toBeGreaterThan(0);
    await until(() => workerdChildren().length === 0, "idle engines stopped");
    expect(await run(sandbox, "return 2")).toMatchObject({ value: 2 });
    await provider.dispose();
    await until(() => workerdChildren().length === 0, "disposed engines stopped");
  });

  it("takes its engines down with it when the host process is killed outright", async () => {
    const providerModule = fileURLToPath(new URL("../cloudflare-isolate-provider.ts", import.meta.url));
    const host = spawn(
      process.execPath,
      [
        "--conditions=@sandport/source",
        "--input-type=module",
        "--eval",
        `import { createCloudflareIsolateProvider } from ${JSON.stringify(providerModule)};
         const provider = createCloudflareIsolateProvider({ engines: 2 });
         const sandbox = await provider.create({});
         await provider.warm();
         await sandbox.runCode("return 1", { language: "javascript" });
         console.log("ready");
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve, reject) => {
      host.stdout?.on("data", (chunk: Buffer) => chunk.toString().includes("ready") && resolve());
      host.on("exit", (code) => reject(new Error(`the host exited early with ${code}`)));
    });
    const engines = workerdChildren(host.pid);
    expect(engines).toHaveLength(2);
    host.kill("SIGKILL");
    // The kernel delivers the parent-death signal; nothing of the host's engines is left.
    await until(
      () => engines.every((pid) => !existsSync(`/proc/${pid}`)),
      "the engines died with their host",
    );
  });
});
