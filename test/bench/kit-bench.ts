/**
 * The adapter kit's cost: core's HTTP client (deadline, body cap, no redirects, redaction) against
 * a plain `fetch` of the same loopback answer, measured alternately in the same run, and what that
 * difference adds to a fake-backed create -> exec -> destroy of the container provider (whose
 * wire calls all go through the client).
 */
import { createServer } from "node:http";
import { createCloudflareContainerProvider } from "@sandport/cloudflare";
import { createSandboxBridgeFake } from "@sandport/cloudflare/testing";
import { createHttpClient } from "@sandport/core";
import { setupServer } from "msw/node";
import type { BenchRow } from "./report.ts";
import { measure, measureAlternately, milliseconds, percentile } from "./statistics.ts";

/** Measures the client's overhead per request and its share of a fake-backed sandbox cycle. */
export async function benchKit(): Promise<BenchRow[]> {
  const server = createServer((_request, response) => response.end("ok"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const client = createHttpClient({
    baseUrl,
    providerId: "bench",
    headers: () => ({ authorization: "Bearer bench-token" }),
    secrets: () => ["bench-token"],
  });
  const [plain, kit] = await measureAlternately(
    400,
    async () => {
      const response = await fetch(`${baseUrl}/`, { headers: { authorization: "Bearer bench-token" } });
      await response.arrayBuffer();
    },
    () => client.send({ method: "GET", path: "/", what: "bench" }),
    20,
  );
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  const perRequest = Math.max(0, percentile(kit, 50) - percentile(plain, 50));

  // The same provider through its fake: the cycle, and how many wire calls one cycle makes.
  const url = "https://sandbox-bridge.bench.test";
  const bridge = createSandboxBridgeFake({ url, token: "bench-token" });
  const mock = setupServer(...bridge.handlers);
  mock.listen({ onUnhandledFrame: "error" });
  const provider = createCloudflareContainerProvider({ providerId: "bench", url, token: "bench-token" });
  let requestsPerCycle = 0;
  try {
    const cycle = async () => {
      const sandbox = await provider.create({});
      await sandbox.exec(["true"]);
      await sandbox.destroy();
    };
    bridge.clearCalls();
    await cycle();
    requestsPerCycle = bridge.calls.length;
    const cycles = await measure(40, cycle);
    const cycleP50 = percentile(cycles, 50);
    const share = (perRequest * requestsPerCycle) / cycleP50;
    return [
      {
        name: "kit: plain fetch of a loopback answer p50 (baseline)",
        value: milliseconds(percentile(plain, 50)),
      },
      { name: "kit: the same through core's HTTP client p50", value: milliseconds(percentile(kit, 50)) },
      {
        name: `container (fake): create -> exec -> destroy p50, ${requestsPerCycle} wire calls`,
        value: milliseconds(cycleP50),
      },
      {
        name: "kit: client overhead as a share of that cycle",
        value: `${(share * 100).toFixed(2)} %`,
        target: "<= 2 %",
        met: share <= 0.02,
      },
    ];
  } finally {
    mock.close();
    await bridge.close();
  }
}
