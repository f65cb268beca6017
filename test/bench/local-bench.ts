/**
 * The local backend and core: exec in a warm sandbox against a plain spawn of the same program,
 * the create -> exec -> destroy cycle, the host memory of idle sandboxes (supervisor RSS), 100
 * sandboxes at once, and request validation per request.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertRequestSupported, parseCreateSandboxRequest } from "@sandport/core";
import { createLocalProvider, detectIsolation } from "@sandport/local";
import type { BenchRow } from "./report.ts";
import { measure, milliseconds, percentile } from "./statistics.ts";

/** What {@link benchLocal} found. */
export interface LocalBenchResult {
  /** The isolation the local provider picks by default, for the report's header. */
  isolationSelected: string | undefined;
  rows: BenchRow[];
}

function runToEnd(file: string, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    child.stdin?.end();
    child.stdout?.resume();
    child.stderr?.resume();
    child.on("error", reject);
    // A failing baseline would flatter the ratio: insist on success.
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${file} exited with ${code}`))));
  });
}

/** Resident memory of a process and its descendants, KiB, from /proc. */
function residentKib(rootPid: number): number {
  const children = new Map<number, number[]>();
  const resident = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      const parent = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      resident.set(Number(entry), Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0));
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  let total = 0;
  const pending = [rootPid];
  while (pending.length > 0) {
    const pid = pending.pop() as number;
    total += resident.get(pid) ?? 0;
    pending.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** Pids of running supervisors started by this process. */
function supervisorPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      if (
        /^Name:\s+sandport-superv/m.test(status) &&
        Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) === process.pid
      ) {
        pids.push(Number(entry));
      }
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Measures the local provider, then core's request validation. */
export async function benchLocal(): Promise<LocalBenchResult> {
  const report = await detectIsolation();
  const stateDirectory = mkdtempSync(join(tmpdir(), "sandport-bench-"));
  const rows: BenchRow[] = [];
  try {
    if (report.selected === "supervisor") rows.push(...(await benchSupervisor(stateDirectory)));
    rows.push(await benchValidation(stateDirectory));
  } finally {
    rmSync(stateDirectory, { recursive: true, force: true });
  }
  return { isolationSelected: report.selected, rows };
}

async function benchSupervisor(stateDirectory: string): Promise<BenchRow[]> {
  const provider = createLocalProvider({ stateDirectory });
  const scope = provider.capabilities.limits.scope;
  const sandbox = await provider.create({});
  const environment = { PATH: "/usr/bin:/bin" };
  // Alternate the two, so a noisy moment on the machine hits both alike.
  const execDurations: number[] = [];
  const plainDurations: number[] = [];
  for (let round = 0; round < 10; round++) {
    execDurations.push(...(await measure(30, () => sandbox.exec(["/bin/true"]))));
    plainDurations.push(...(await measure(30, () => runToEnd("/bin/true", [], environment))));
  }
  await sandbox.destroy();
  const execP50 = percentile(execDurations, 50);
  const plainP50 = percentile(plainDurations, 50);
  const rows: BenchRow[] = [
    {
      name: `local (limits per ${scope}): exec /bin/true in a warm sandbox p50`,
      value: milliseconds(execP50),
    },
    { name: "local: exec /bin/true p95", value: milliseconds(percentile(execDurations, 95)) },
    { name: "local: plain spawn of /bin/true p50 (baseline)", value: milliseconds(plainP50) },
    {
      name: "local: ratio warm exec / plain spawn",
      value: (execP50 / plainP50).toFixed(2),
      target: "<= 1.5",
      met: execP50 / plainP50 <= 1.5,
    },
  ];

  const cycleDurations = await measure(50, async () => {
    const cycle = await provider.create({});
    await cycle.exec(["/bin/true"]);
    await cycle.destroy();
  });
  const cycleP50 = percentile(cycleDurations, 50);
  rows.push({
    name: "local: create -> exec -> destroy p50",
    value: milliseconds(cycleP50),
    target: "<= 16 ms (the per-command design's figure)",
    met: cycleP50 <= 16,
  });

  // 100 sandboxes at once, each running a command; then the host memory they hold while idle.
  const results = await Promise.allSettled(
    Array.from({ length: 100 }, async (_, index) => {
      const each = await provider.create({ labels: { bench: "hundred" } });
      const result = await each.exec(["sh", "-c", `echo ${index}`]);
      if (result.stdout !== `${index}\n`)
        throw new Error(`sandbox ${index} printed ${JSON.stringify(result.stdout)}`);
      return each;
    }),
  );
  const created = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const supervisors = supervisorPids();
  const residentPerSandbox =
    supervisors.reduce((sum, pid) => sum + residentKib(pid), 0) / Math.max(created.length, 1);
  await Promise.all(created.map((each) => each.destroy()));
  let left = 0;
  for await (const _ of provider.list({ labels: { bench: "hundred" } })) left++;
  const failed = results.length - created.length;
  rows.push(
    {
      name: "local: host memory per idle sandbox (supervisor RSS, mean of 100)",
      value: `${(residentPerSandbox / 1024).toFixed(2)} MiB`,
      target: "<= 4 MiB",
      met: residentPerSandbox <= 4 * 1024,
    },
    {
      name: "local: 100 concurrent sandboxes, failed / left after destroy / supervisors left",
      value: `${failed} / ${left} / ${supervisorPids().length}`,
      target: "0 / 0 / 0",
      met: failed === 0 && left === 0 && supervisorPids().length === 0,
    },
  );
  await provider.dispose();
  return rows;
}

/** Core: validation + capability check per request, measured in batches to beat timer resolution. */
async function benchValidation(stateDirectory: string): Promise<BenchRow> {
  const capabilities = createLocalProvider({ stateDirectory }).capabilities;
  const request = {
    runtime: "python",
    resources: { cpu: 1, memoryMb: 512 },
    env: { A: "1", B: "2" },
    network: { egress: "none" },
    labels: { team: "bench" },
    ttlMs: 60_000,
  };
  const batch = 1000;
  const validationDurations = await measure(
    200,
    async () => {
      for (let index = 0; index < batch; index++) {
        assertRequestSupported("local", capabilities, parseCreateSandboxRequest(request));
      }
    },
    20,
  );
  const perRequest = percentile(validationDurations, 50) / batch;
  return {
    name: "core: validate + capability check p50 per request",
    value: milliseconds(perRequest),
    target: "<= 20 µs",
    met: perRequest <= 0.02,
  };
}
