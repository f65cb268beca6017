/**
 * The isolate Worker deployed with tenants (remote mode, the Worker under workerd on loopback):
 * what resolving a tenant token adds to a request, against the same request on a single-token
 * deployment measured alternately in the same run, and what a runs-per-minute quota adds to a run.
 */
import { createHash } from "node:crypto";
import { startIsolateWorker } from "@sandport/cloudflare/testing";
import type { BenchRow } from "./report.ts";
import { measureAlternately, milliseconds, percentile } from "./statistics.ts";

const deploymentToken = "bench-deployment-token";
const tenantCount = 1000;
const requests = 400;

function digest(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** A sandbox created with `token` and a function that fetches its description. */
async function sandboxCall(
  url: URL,
  token: string,
): Promise<{ info: () => Promise<void>; run: () => Promise<void> }> {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const created = await fetch(new URL("/v1/sandboxes", url), { method: "POST", headers, body: "{}" });
  if (created.status !== 201) throw new Error(`create answered ${created.status}: ${await created.text()}`);
  const { id } = (await created.json()) as { id: string };
  const expectOk = async (response: Response) => {
    if (!response.ok) throw new Error(`answered ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
  };
  const runBody = JSON.stringify({ code: "return 1;", env: {}, timeoutMs: 5000, maxOutputBytes: 1000 });
  return {
    info: async () => expectOk(await fetch(new URL(`/v1/sandboxes/${id}`, url), { headers })),
    run: async () =>
      expectOk(
        await fetch(new URL(`/v1/sandboxes/${id}/run`, url), { method: "POST", headers, body: runBody }),
      ),
  };
}

/** Measures both deployments; each workerd is stopped before returning. */
export async function benchIsolateTenants(): Promise<BenchRow[]> {
  const tenants: Record<string, Record<string, unknown>> = {};
  for (let index = 0; index < tenantCount; index++) {
    tenants[digest(`tenant-token-${index}`)] = { tenant: `tenant-${index}` };
  }
  // One tenant counts its runs (a generous quota: what is measured is the counting, not refusals).
  tenants[digest("metered-token")] = { tenant: "metered", maxRunsPerMinute: 1_000_000 };
  const limits = { maxCodeBytes: 1 << 20, maxFilesBytes: 1 << 20, statelessRoute: false };
  const single = await startIsolateWorker({ token: deploymentToken, ...limits });
  const multi = await startIsolateWorker({
    token: deploymentToken,
    ...limits,
    workerVariables: { SANDPORT_TENANTS: JSON.stringify(tenants) },
  });
  try {
    const before = await sandboxCall(single.url, deploymentToken);
    const tenant = await sandboxCall(multi.url, `tenant-token-${tenantCount - 1}`);
    const [singleInfo, tenantInfo] = await measureAlternately(requests, before.info, tenant.info, 20);
    const metered = await sandboxCall(multi.url, "metered-token");
    const [plainRuns, meteredRuns] = await measureAlternately(requests / 2, tenant.run, metered.run, 10);
    const added = percentile(tenantInfo, 50) - percentile(singleInfo, 50);
    const quota = percentile(meteredRuns, 50) - percentile(plainRuns, 50);
    return [
      {
        name: "isolate Worker (remote, loopback): GET sandbox p50, single-token deployment",
        value: milliseconds(percentile(singleInfo, 50)),
      },
      {
        name: `isolate Worker (remote, loopback): GET sandbox p50, tenant token among ${tenantCount} tenants`,
        value: milliseconds(percentile(tenantInfo, 50)),
      },
      {
        name: "isolate Worker: tenant check added p50",
        value: milliseconds(added),
        target: "<= 0.5 ms",
        met: added <= 0.5,
      },
      {
        name: "isolate Worker: runs-per-minute quota added to a run p50",
        value: milliseconds(quota),
      },
    ];
  } finally {
    await Promise.all([single.dispose(), multi.dispose()]);
  }
}
