/**
 * Local mode's engine supervision: a run past its timeout, a crash and an out-of-memory run each
 * cost only that run (engines serve one run at a time); other sandboxes keep working, every
 * sandbox keeps its files, and memory outside the V8 heap is capped per engine.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { Sandbox } from "@sandport/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  type CloudflareIsolateProvider,
  createCloudflareIsolateProvider,
} from "../cloudflare-isolate-provider.ts";
import { engineDataLimitBytes } from "./isolate-settings.ts";

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

function sandboxRun(sandbox: Sandbox, code: string, timeoutMs: number, signal: AbortSignal) {
  const runCode = sandbox.runCode?.bind(sandbox);
  if (runCode === undefined) throw new Error("no runCode");
  return runCode(code, { language: "javascript", timeoutMs, signal });
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

  it("leaves the host's SIGINT and SIGTERM handling as it was (miniflare's exit-at-once listeners removed)", async () => {
    const before = ["SIGINT", "SIGTERM"].map((signal) => process.listeners(signal as NodeJS.Signals));
    provider = createCloudflareIsolateProvider({ engines: 1 });
    await using sandbox = await provider.create({});
    expect(await run(sandbox, "return 1")).toMatchObject({ value: 1 });
    const after = ["SIGINT", "SIGTERM"].map((signal) => process.listeners(signal as NodeJS.Signals));
    expect(after).toEqual(before);
  });

  it("stops an aborted run with its engine, so the next run needs no wait for the abandoned one", async () => {
    provider = createCloudflareIsolateProvider({ engines: 1 });
    await using abandoned = await provider.create({});
    await using other = await provider.create({});
    expect(await run(other, "return 0")).toMatchObject({ value: 0 });
    const controller = new AbortController();
    const looping = sandboxRun(abandoned, "while (true) {}", 120_000, controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 300));
    controller.abort();
    await expect(looping).rejects.toMatchObject({ code: "aborted" });
    // One engine: had the loop kept it, this run would wait the loop's two minutes.
    let deadline: ReturnType<typeof setTimeout> | undefined;
    const next = await Promise.race([
      run(other, "return 1"),
      new Promise<never>((_, reject) => {
        deadline = setTimeout(() => reject(new Error("the aborted run still holds the only engine")), 20_000);
      }),
    ]).finally(() => clearTimeout(deadline));
    expect(next).toMatchObject({ exitCode: 0, value: 1 });
  });

  it("runs what waited behind a runaway on the restarted engine, never sharing the runaway's engine", async () => {
    provider = createCloudflareIsolateProvider({ engines: 1 });
    await using runaway = await provider.create({});
    await using queued = await provider.create({});
    await provider.warm();
    const looping = run(runaway, "while (true) {}", 500);
    const behind = run(queued, "return 'done'");
    expect(await looping).toMatchObject({ timedOut: true });
    expect(await behind).toMatchObject({ exitCode: 0, value: "done" });
    expect(provider.engineRestarts).toBe(1);
  });

  it("runs a networked run that waited behind a runaway exactly once", async () => {
    const hits: string[] = [];
    const server = createServer((request, response) => {
      hits.push(request.url ?? "");
      response.end("served");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      provider = createCloudflareIsolateProvider({ engines: 1 });
      await using runaway = await provider.create({});
      await using networked = await provider.create({
        network: { egress: { allow: [`127.0.0.1:${port}`] } },
      });
      await provider.warm();
      const looping = run(runaway, "while (true) {}", 500);
      const behind = run(networked, `return await (await fetch("http://127.0.0.1:${port}/once")).text()`);
      expect(await looping).toMatchObject({ timedOut: true });
      // Its request went out once: it never ran on the runaway's engine, so nothing was repeated.
      expect(await behind).toMatchObject({ exitCode: 0, value: "served" });
      expect(hits).toEqual(["/once"]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("fails only the heap bomb when another sandbox's slow run is in flight on the same engine", async () => {
    provider = createCloudflareIsolateProvider({ engines: 1, memoryMb: 64 });
    await using bomber = await provider.create({});
    await using slow = await provider.create({});
    await using after = await provider.create({});
    await provider.warm();
    const slowCode = "await new Promise((resolve) => setTimeout(resolve, 300)); return 'slow but fine'";
    const bomb = "const keep = []; while (true) keep.push(new Array(1e6).fill(Math.random()));";
    // The slow run is in flight first, the bomb comes next, and another run arrives behind the bomb.
    const slowRun = run(slow, slowCode);
    const bombRun = run(bomber, bomb);
    const afterRun = run(after, slowCode);
    await expect(bombRun).rejects.toMatchObject({ code: "sandbox_failed" });
    expect(await slowRun).toMatchObject({ exitCode: 0, value: "slow but fine" });
    expect(await afterRun).toMatchObject({ exitCode: 0, value: "slow but fine" });
    expect(provider.engineRestarts).toBe(1);
  });

  it("bounds memory outside the V8 heap: 3 GiB of ArrayBuffers under memoryMb 128 fail inside the code", async () => {
    provider = createCloudflareIsolateProvider({ engines: 1, memoryMb: 128 });
    await using sandbox = await provider.create({});
    await provider.warm();
    const [engine] = workerdChildren();
    expect(engine).toBeDefined();
    // The engine's peak resident memory, sampled while the bombs run (it is replaced afterwards).
    let peakBytes = 0;
    const sampler = setInterval(() => {
      try {
        const peak = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${engine}/status`, "utf8"));
        // A process that is exiting has no memory lines left.
        if (peak !== null) peakBytes = Math.max(peakBytes, Number(peak[1]) * 1024);
      } catch {
        // The engine is gone.
      }
    }, 10);
    const arrayBuffers =
      "const keep = []; for (let i = 0; i < 12; i++) keep.push(new Uint8Array(256 * 1024 * 1024).fill(1)); return keep.length";
    const outcome = await run(sandbox, arrayBuffers).catch((error: unknown) => error);
    // Either the allocation fails inside the code (RangeError) or the engine dies of it.
    if (outcome instanceof Error) expect(outcome).toMatchObject({ code: "sandbox_failed" });
    else
      expect(outcome).toMatchObject({
        exitCode: 1,
        stderr: expect.stringMatching(/RangeError: Array buffer allocation failed/),
      });
    const wasm =
      "const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 }); for (let i = 0; i < 48; i++) { memory.grow(1024); new Uint8Array(memory.buffer).fill(1, memory.buffer.byteLength - 64 * 1024 * 1024); } return memory.buffer.byteLength";
    const wasmOutcome = await run(sandbox, wasm).catch((error: unknown) => error);
    if (wasmOutcome instanceof Error) expect(wasmOutcome).toMatchObject({ code: "sandbox_failed" });
    else expect(wasmOutcome).toMatchObject({ exitCode: 1, stderr: expect.stringMatching(/RangeError/) });
    clearInterval(sampler);
    // The engine's peak resident memory stayed under its cap, short of the 3 GiB asked for.
    expect(peakBytes).toBeGreaterThan(0);
    expect(peakBytes).toBeLessThanOrEqual(
      engineDataLimitBytes({ memoryMb: 128, maxFilesBytes: 64 * 1024 * 1024 }),
    );
    // Ordinary runs are unaffected: a large buffer under the limit, and a large workspace (whose
    // copies V8 keeps mapped, so its engine is replaced before the next run) run after run.
    expect(await run(sandbox, "return new Uint8Array(96 * 1024 * 1024).fill(1).length")).toMatchObject({
      exitCode: 0,
      value: 96 * 1024 * 1024,
    });
    await sandbox.writeFile("large.bin", new Uint8Array(20 * 1024 * 1024).fill(7));
    const readLarge = 'import { readFileSync } from "node:fs"; return readFileSync("large.bin").length';
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect(await run(sandbox, readLarge)).toMatchObject({ exitCode: 0, value: 20 * 1024 * 1024 });
    }
    expect(provider.engineRestarts).toBe(0);
  }, 60_000);

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
