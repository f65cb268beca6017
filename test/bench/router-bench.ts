/**
 * The router: `explain` over 8 providers and 50 rules, the router's overhead on a create -> exec ->
 * destroy cycle against calling the chosen provider directly (the embedded default's local
 * sandbox, alternately, same run), and `reap()` over 1,000 ledger entries left by a dead process.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createProcessProvider, processProviderCapabilities } from "@sandport/contract/testing";
import type { ProviderCapabilities, SandboxProvider } from "@sandport/core";
import { createLocalProvider } from "@sandport/local";
import { createRouter, type DeferredProvider } from "@sandport/router";
import { openSqliteLedger } from "@sandport/router/node";
import type { BenchRow } from "./report.ts";
import { measureAlternately, milliseconds, percentile } from "./statistics.ts";

function syntheticProviders(): DeferredProvider[] {
  const regions = ["us", "eu", "ap"];
  return Array.from({ length: 8 }, (_, index) => {
    const capabilities: ProviderCapabilities = {
      ...processProviderCapabilities,
      runtimes: ["shell", "python", "javascript"],
      residency: index % 2 === 0 ? "self-hosted" : "vendor-cloud",
      regions: index % 2 === 0 ? [] : regions,
      limits: {
        maxCpu: 2 + index,
        maxMemoryMb: 2048 * (index + 1),
        gpuTypes: index === 7 ? ["A100"] : [],
        scope: "sandbox",
      },
      priors: {
        ...processProviderCapabilities.priors,
        coldStartMs: 10 + index * 100,
        pricePerVcpuSecond: index * 0.00001,
      },
    };
    return {
      providerId: `provider-${index}`,
      capabilities,
      load: async (): Promise<SandboxProvider> => createProcessProvider({ providerId: `provider-${index}` }),
    };
  });
}

function fiftyRules() {
  return Array.from({ length: 50 }, (_, index) => ({
    name: `rule-${index}`,
    match: { labels: { team: `team-${index}` }, cpu: { lte: 1 + (index % 4) } },
    ...(index % 3 === 0
      ? { deny: [`provider-${index % 8}`] }
      : index % 3 === 1
        ? { require: { residency: "self-hosted" as const } }
        : { prefer: [`provider-${(index + 1) % 8}`] }),
  }));
}

async function benchExplain(): Promise<BenchRow[]> {
  const router = createRouter({ providers: syntheticProviders(), policy: { rules: fiftyRules() } });
  const request = {
    runtime: "python" as const,
    resources: { cpu: 1, memoryMb: 1024 },
    labels: { team: "team-25" },
  };
  for (let index = 0; index < 2000; index++) router.explain(request);
  const samples: number[] = [];
  for (let index = 0; index < 20_000; index++) {
    const started = performance.now();
    router.explain(request);
    samples.push(performance.now() - started);
  }
  const started = performance.now();
  let decisions = 0;
  while (performance.now() - started < 1000) {
    router.explain(request);
    decisions++;
  }
  const p50 = percentile(samples, 50);
  return [
    {
      name: "router: explain p50, 8 providers, 50 rules",
      value: milliseconds(p50),
      target: "<= 20 µs",
      met: p50 <= 0.02,
    },
    { name: "router: decisions per second, one core", value: String(decisions) },
  ];
}

async function benchOverhead(): Promise<BenchRow[]> {
  const directory = mkdtempSync(join(tmpdir(), "sandport-router-bench-"));
  const direct = createLocalProvider({});
  const routed = createRouter({
    providers: [createLocalProvider({ providerId: "local-routed" })],
    ledger: openSqliteLedger(join(directory, "ledger.sqlite")),
  });
  const cycle = async (provider: SandboxProvider) => {
    const sandbox = await provider.create({ runtime: "shell" });
    const result = await sandbox.exec(["true"]);
    if (result.exitCode !== 0) throw new Error(`exec failed: ${result.stderr}`);
    await sandbox.destroy();
  };
  try {
    const [directDurations, routedDurations] = await measureAlternately(
      100,
      () => cycle(direct),
      () => cycle(routed),
      10,
    );
    const ratio = percentile(routedDurations, 50) / percentile(directDurations, 50);
    return [
      {
        name: "router: create -> exec -> destroy p50, local directly",
        value: milliseconds(percentile(directDurations, 50)),
      },
      {
        name: "router: create -> exec -> destroy p50, through the router",
        value: milliseconds(percentile(routedDurations, 50)),
      },
      {
        name: "router: ratio routed / direct p50",
        value: ratio.toFixed(3),
        target: "<= 1.05",
        met: ratio <= 1.05,
      },
    ];
  } finally {
    await Promise.all([direct.dispose?.(), routed.dispose()]);
    rmSync(directory, { recursive: true, force: true });
  }
}

async function benchReap(): Promise<BenchRow[]> {
  const directory = mkdtempSync(join(tmpdir(), "sandport-reap-bench-"));
  try {
    const ledger = await openSqliteLedger(join(directory, "ledger.sqlite"));
    // Entries of a process that is gone, whose sandboxes are gone too (the reap forgets each).
    for (let index = 0; index < 1000; index++) {
      ledger.add({
        sandboxId: `reaped:sandport-process-${index}`,
        providerId: "reaped",
        ownerPid: 2 ** 22 + 1,
        ownerStart: "gone",
        createdAt: Date.now(),
        labels: {},
      });
    }
    const router = createRouter({ providers: [createProcessProvider({ providerId: "reaped" })], ledger });
    const started = performance.now();
    const report = await router.reap();
    const duration = performance.now() - started;
    if (report.gone.length !== 1000) throw new Error(`reap forgot ${report.gone.length} of 1000 entries`);
    ledger.close();
    return [
      {
        name: "router: reap() over 1,000 ledger entries",
        value: milliseconds(duration),
        target: "<= 1 s",
        met: duration <= 1000,
      },
    ];
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Measures the router. */
export async function benchRouter(): Promise<BenchRow[]> {
  return [...(await benchExplain()), ...(await benchOverhead()), ...(await benchReap())];
}
