/**
 * The `cloudflare-isolate` provider in local mode (workerd engines on this machine): warm runCode
 * latency and throughput against miniflare's Worker Loader called directly, memory over 1,000
 * sandboxes, and recovery after a runaway run forces an engine restart.
 */
import { type CloudflareIsolateProvider, createCloudflareIsolateProvider } from "@sandport/cloudflare";
import type { ExecResult, RunCodeOptions } from "@sandport/core";
import { workerdCpuMsBetween, workerdUsage } from "./process-usage.ts";
import type { BenchRow } from "./report.ts";
import {
  measureAlternately,
  measureThroughput,
  megabytes,
  milliseconds,
  percentile,
  type Throughput,
} from "./statistics.ts";
import { startWorkerLoaderBaseline, type WorkerLoaderBaseline } from "./worker-loader-baseline.ts";

const snippet = "console.log(1)";
const snippetOptions: RunCodeOptions = { language: "javascript", timeoutMs: 200 };
/** A run that mostly waits, as code awaiting the network does; engines serve one run at a time. */
const waitingMs = 50;
const waitingSnippet = `await new Promise((resolve) => setTimeout(resolve, ${waitingMs})); console.log(1)`;
const throughputCallers = 8;
const throughputMs = 5000;
const sandboxCount = 1000;
/** Callers creating, using and destroying the 1,000 sandboxes at once. */
const sandboxConcurrency = 4;
const recoveryTrials = 5;

type IsolateSandbox = Awaited<ReturnType<CloudflareIsolateProvider["create"]>>;

/** Runs the snippet; a run that does not print "1" is an error (it would flatter the figures). */
async function runSnippet(sandbox: IsolateSandbox, code = snippet): Promise<ExecResult> {
  const result = await sandbox.runCode(code, snippetOptions);
  if (result.exitCode !== 0 || result.stdout !== "1\n") {
    throw new Error(`the snippet failed: exit ${result.exitCode}, stderr ${JSON.stringify(result.stderr)}`);
  }
  return result;
}

/** Measures the provider; every workerd it or the baseline starts is stopped before returning. */
export async function benchIsolate(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const provider = createCloudflareIsolateProvider({ mode: "local" });
  // The provider stops its engines shortly after its last sandbox is destroyed. This sandbox
  // lives through every measurement, as an application's would, so each measurement finds the
  // engines up: memory growth is what the sandboxes leave, not engines starting.
  const keeper = await provider.create({ runtime: "javascript" });
  try {
    const baseline = await startWorkerLoaderBaseline();
    try {
      rows.push(...(await benchWarmRuns(provider, baseline)));
      rows.push(...(await benchThroughput(provider, baseline)));
    } finally {
      await baseline.dispose();
    }
    // Counted rather than assumed: the pool's size is the provider's default for this machine.
    const engines = workerdUsage().processes;
    rows.push(...(await benchManySandboxes(provider, engines, keeper.id)));
    rows.push({
      name: "cloudflare-isolate: engine restarts before the runaway runs",
      value: String(provider.engineRestarts),
    });
    rows.push(...(await benchRecovery(provider, engines)));
    await keeper.destroy();
  } finally {
    await provider.dispose();
  }
  // Every workerd this bench started, the baseline's included, must be gone.
  const left = workerdUsage().processes;
  rows.push({
    name: "cloudflare-isolate: workerd processes left after dispose",
    value: String(left),
    target: "0",
    met: left === 0,
  });
  return rows;
}

/** 1. One sandbox, sequential runs, alternating with the baseline. */
async function benchWarmRuns(
  provider: CloudflareIsolateProvider,
  baseline: WorkerLoaderBaseline,
): Promise<BenchRow[]> {
  const sandbox = await provider.create({ runtime: "javascript" });
  const [providerDurations, baselineDurations] = await measureAlternately(
    300,
    () => runSnippet(sandbox),
    () => baseline.runSnippet(),
    20,
  );
  await sandbox.destroy();
  if (baseline.printedBytes() === 0) throw new Error("the baseline's console.log printed nothing");
  const providerP50 = percentile(providerDurations, 50);
  const baselineP50 = percentile(baselineDurations, 50);
  return [
    {
      name: "cloudflare-isolate: warm runCode console.log(1) p50",
      value: milliseconds(providerP50),
      target: "<= 10 ms",
      met: providerP50 <= 10,
    },
    {
      name: "cloudflare-isolate: warm runCode console.log(1) p95",
      value: milliseconds(percentile(providerDurations, 95)),
    },
    { name: "worker loader direct: load + call fresh isolate p50", value: milliseconds(baselineP50) },
    {
      name: "worker loader direct: load + call fresh isolate p95",
      value: milliseconds(percentile(baselineDurations, 95)),
    },
    {
      name: "cloudflare-isolate: ratio runCode / worker loader direct p50",
      value: (providerP50 / baselineP50).toFixed(2),
      target: "<= 1.5",
      met: providerP50 / baselineP50 <= 1.5,
    },
  ];
}

/** A throughput measurement with the CPU time node and the workerd processes spent per run. */
interface CostedThroughput extends Throughput {
  nodeCpuMsPerRun: number;
  workerdCpuMsPerRun: number;
}

/**
 * With every core busy, throughput is bounded by CPU time per run; reporting it tells a slow
 * provider apart from a busy machine. Idle workerd processes add nothing to the sum.
 */
async function costedThroughput(run: (caller: number) => Promise<unknown>): Promise<CostedThroughput> {
  const nodeBefore = process.cpuUsage();
  const workerdBefore = workerdUsage();
  const throughput = await measureThroughput(throughputCallers, throughputMs, run);
  const nodeCpu = process.cpuUsage(nodeBefore);
  const workerdCpuMs = workerdCpuMsBetween(workerdBefore, workerdUsage());
  const runs = Math.max(1, throughput.runs);
  return {
    ...throughput,
    nodeCpuMsPerRun: (nodeCpu.user + nodeCpu.system) / 1000 / runs,
    workerdCpuMsPerRun: workerdCpuMs / runs,
  };
}

function cpuPerRun(measured: CostedThroughput): string {
  return `${measured.nodeCpuMsPerRun.toFixed(1)}+${measured.workerdCpuMsPerRun.toFixed(1)} ms`;
}

/** 2. Concurrent callers for a fixed time, each with its own sandbox; then the baseline alike. */
async function benchThroughput(
  provider: CloudflareIsolateProvider,
  baseline: WorkerLoaderBaseline,
): Promise<BenchRow[]> {
  const sandboxes = await Promise.all(
    Array.from({ length: throughputCallers }, () => provider.create({ runtime: "javascript" })),
  );
  await Promise.all(sandboxes.map((sandbox) => runSnippet(sandbox)));
  const providerRun = await costedThroughput((caller) => runSnippet(sandboxes[caller] as IsolateSandbox));
  const waitingRun = await measureThroughput(throughputCallers, throughputMs, (caller) =>
    runSnippet(sandboxes[caller] as IsolateSandbox, waitingSnippet),
  );
  // The baseline's workerd is the one process that is not an engine.
  const engines = workerdUsage().processes - 1;
  await Promise.all(sandboxes.map((sandbox) => sandbox.destroy()));
  const baselineRun = await costedThroughput(() => baseline.runSnippet());
  const providerRate = providerRun.runsPerSecond;
  const baselineRate = baselineRun.runsPerSecond;
  const seconds = throughputMs / 1000;
  return [
    {
      name: `cloudflare-isolate: throughput, ${throughputCallers} callers with own sandbox, ${seconds} s, ${engines} engines`,
      value: `${providerRate.toFixed(0)} runs/s`,
      target: ">= 200 runs/s",
      met: providerRate >= 200,
    },
    {
      // One run per engine at a time: runs that wait overlap only across engines.
      name: `cloudflare-isolate: throughput, ${throughputCallers} callers, runs awaiting a ${waitingMs} ms timer, ${engines} engines (${Math.round((throughputCallers * 1000) / waitingMs)} if all overlapped)`,
      value: `${waitingRun.runsPerSecond.toFixed(0)} runs/s`,
    },
    {
      name: `worker loader direct: throughput, ${throughputCallers} concurrent callers, one workerd`,
      value: `${baselineRate.toFixed(0)} runs/s`,
    },
    {
      name: "cloudflare-isolate: ratio throughput / worker loader direct",
      value: (providerRate / baselineRate).toFixed(2),
    },
    { name: "cloudflare-isolate: CPU per run in throughput, node+workerd", value: cpuPerRun(providerRun) },
    { name: "worker loader direct: CPU per run in throughput, node+workerd", value: cpuPerRun(baselineRun) },
    {
      name: "cloudflare-isolate: throughput runs that failed (not in the rate)",
      value: String(providerRun.failures + waitingRun.failures),
      target: "0",
      met: providerRun.failures + waitingRun.failures === 0,
    },
    {
      name: "worker loader direct: throughput runs that failed",
      value: String(baselineRun.failures),
    },
  ];
}

/** 3. Creates, uses and destroys many sandboxes; memory before and after, and what is left over. */
async function benchManySandboxes(
  provider: CloudflareIsolateProvider,
  engines: number,
  keeperId: string,
): Promise<BenchRow[]> {
  // The engines are up and warm from the measurements above. gc() exists with --expose-gc.
  globalThis.gc?.();
  const nodeBefore = process.memoryUsage();
  const enginesBefore = workerdUsage();
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: sandboxConcurrency }, async () => {
      while (next < sandboxCount) {
        next += 1;
        const sandbox = await provider.create({ runtime: "javascript" });
        // Counted rather than thrown, so a failing run is reported with the memory figures.
        await runSnippet(sandbox).catch(() => {
          failures += 1;
        });
        await sandbox.destroy();
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  globalThis.gc?.();
  const nodeAfter = process.memoryUsage();
  const enginesAfter = workerdUsage();
  let leftovers = 0;
  for await (const info of provider.list?.() ?? []) if (info.id !== keeperId) leftovers += 1;

  const nodeGrowth = nodeAfter.rss - nodeBefore.rss;
  const enginesGrowth = enginesAfter.residentBytes - enginesBefore.residentBytes;
  const label = `cloudflare-isolate: ${sandboxCount} sandboxes`;
  return [
    {
      name: `${label} created, run, destroyed (${sandboxConcurrency} at a time)`,
      value: milliseconds(elapsedMs),
    },
    { name: `${label}: node RSS growth${globalThis.gc ? " (after gc)" : ""}`, value: megabytes(nodeGrowth) },
    {
      // The retained part of the node growth; the rest is V8 keeping its grown heap reserved.
      name: `${label}: node heap used growth`,
      value: megabytes(nodeAfter.heapUsed - nodeBefore.heapUsed),
    },
    {
      name: `${label}: workerd RSS growth (${engines} engines, ${megabytes(enginesBefore.residentBytes)} before)`,
      value: megabytes(enginesGrowth),
    },
    {
      name: `${label}: RSS growth, node + workerd`,
      value: megabytes(nodeGrowth + enginesGrowth),
      target: "<= 100 MB",
      met: nodeGrowth + enginesGrowth <= 100 * 2 ** 20,
    },
    { name: `${label}: runs that failed`, value: String(failures), target: "0", met: failures === 0 },
    {
      name: `${label}: left in list() after destroy (kept sandbox aside)`,
      value: String(leftovers),
      target: "0",
      met: leftovers === 0,
    },
  ];
}

/**
 * 4. A busy loop in sandbox A gets its engine killed at the deadline; sandbox B runs the snippet
 * right after. The worst of a few trials is reported.
 */
async function benchRecovery(provider: CloudflareIsolateProvider, engines: number): Promise<BenchRow[]> {
  const runaway = await provider.create({ runtime: "javascript" });
  const bystander = await provider.create({ runtime: "javascript" });
  const warmers = await Promise.all(
    Array.from({ length: engines }, () => provider.create({ runtime: "javascript" })),
  );
  const restartsBefore = provider.engineRestarts;
  let worstRecoveryMs = 0;
  let worstRunawayMs = 0;
  let timedOut = 0;
  let retries = 0;
  for (let trial = 0; trial < recoveryTrials; trial++) {
    // One concurrent run per engine reaches every engine and waits for any still restarting, so
    // a trial does not time the previous trial's restart.
    await Promise.all(warmers.map((sandbox) => runSnippet(sandbox)));
    const started = performance.now();
    // Any other outcome, an error included, is counted as not timed out rather than thrown.
    const result = await runaway.runCode("while (true) {}", snippetOptions).catch(() => undefined);
    const returned = performance.now();
    if (result?.timedOut) timedOut += 1;
    // A caller would retry a run its engine lost (a retryable SandboxFailedError): so do we, on
    // the clock. A sandbox that never answers again is reported as an infinite recovery.
    let recovered = false;
    for (let attempt = 0; attempt < 10 && !recovered; attempt++) {
      recovered = await runSnippet(bystander).then(
        () => true,
        () => false,
      );
      if (!recovered) retries += 1;
    }
    const recoveryMs = recovered ? performance.now() - returned : Number.POSITIVE_INFINITY;
    worstRecoveryMs = Math.max(worstRecoveryMs, recoveryMs);
    worstRunawayMs = Math.max(worstRunawayMs, returned - started);
  }
  await Promise.all([runaway, bystander, ...warmers].map((sandbox) => sandbox.destroy()));
  const restarts = provider.engineRestarts - restartsBefore;
  return [
    {
      name: `cloudflare-isolate: runaway while (true) {}, timeoutMs ${snippetOptions.timeoutMs}: returned timedOut`,
      value: `${timedOut}/${recoveryTrials}`,
      target: "all",
      met: timedOut === recoveryTrials,
    },
    {
      name: `cloudflare-isolate: runaway run's duration, worst of ${recoveryTrials}`,
      value: milliseconds(worstRunawayMs),
    },
    {
      name: `cloudflare-isolate: runaway returned -> other sandbox's snippet result, worst of ${recoveryTrials}`,
      value: milliseconds(worstRecoveryMs),
      target: "<= 1 s",
      met: worstRecoveryMs <= 1000,
    },
    {
      name: `cloudflare-isolate: engine restarts during the ${recoveryTrials} runaway runs`,
      value: String(restarts),
    },
    { name: "cloudflare-isolate: other sandbox's snippet retries after a restart", value: String(retries) },
  ];
}
