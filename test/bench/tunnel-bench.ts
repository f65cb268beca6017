/**
 * The tunnel daemon: `run_code` of a small JavaScript snippet on the embedded isolate provider
 * (cloudflare-isolate, local mode; the local sandbox when workerd cannot start), measured in the
 * same run as a direct provider call, over stdio, over loopback HTTP and client -> gateway ->
 * tunnel -> daemon; 200 concurrent calls over one tunnel; redial time after a gateway restart.
 */
import { fileURLToPath } from "node:url";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { createCloudflareIsolateProvider } from "@sandport/cloudflare";
import { type SandboxProvider, withSandbox } from "@sandport/core";
import { createLocalProvider } from "@sandport/local";
import {
  connectTunnel,
  createSandboxMcpServer,
  type Gateway,
  serveHttp,
  startGateway,
} from "@sandport/tunnel";
import type { BenchRow } from "./report.ts";
import { milliseconds, percentile } from "./statistics.ts";

const code = "console.log(6 * 7)";
const runs = 100;
const warmup = 10;
const daemonToken = "bench-daemon-token";
const clientToken = "bench-client-token";
const repositoryRoot = fileURLToPath(new URL("../..", import.meta.url));

/** The isolate provider when its engine starts here, else the local sandbox. */
async function embeddedProvider(): Promise<{ provider: SandboxProvider; kind: "isolate" | "local" }> {
  const isolate = createCloudflareIsolateProvider({ mode: "local" });
  try {
    await withSandbox(isolate, { runtime: "javascript" }, async (sandbox) => {
      await sandbox.runCode?.(code, { language: "javascript" });
    });
    return { provider: isolate, kind: "isolate" };
  } catch {
    await isolate.dispose?.();
    return { provider: createLocalProvider(), kind: "local" };
  }
}

async function httpClient(url: URL, token: string): Promise<Client> {
  const client = new Client({ name: "bench", version: "0.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(url, {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

/** A stdio daemon child process on the same kind of provider. */
async function stdioClient(kind: "isolate" | "local"): Promise<Client> {
  const providerSource =
    kind === "isolate"
      ? `import { createCloudflareIsolateProvider } from "@sandport/cloudflare"; const provider = createCloudflareIsolateProvider({ mode: "local" });`
      : `import { createLocalProvider } from "@sandport/local"; const provider = createLocalProvider();`;
  const script = `${providerSource}
import { createSandboxMcpServer, serveStdio } from "@sandport/tunnel";
const server = await createSandboxMcpServer({ provider });
await serveStdio({ server }).closed;
await server.close();
await provider.dispose?.();`;
  const client = new Client({ name: "bench", version: "0.0.0" });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: ["--conditions=@sandport/source", "--input-type=module", "--eval", script],
      cwd: repositoryRoot,
      stderr: "ignore",
    }),
  );
  return client;
}

function callRunCode(client: Client): () => Promise<void> {
  return async () => {
    const result = await client.callTool({ name: "run_code", arguments: { language: "javascript", code } });
    if (result.isError) throw new Error(`run_code failed: ${JSON.stringify(result.content)}`);
  };
}

/** Measures every variant in turn, `runs` times each, so load changes hit them alike. */
async function measureRoundRobin(variants: ReadonlyArray<() => Promise<void>>): Promise<number[][]> {
  for (let index = 0; index < warmup; index++) for (const run of variants) await run();
  const durations = variants.map(() => [] as number[]);
  for (let index = 0; index < runs; index++) {
    for (const [position, run] of variants.entries()) {
      const started = performance.now();
      await run();
      durations[position]?.push(performance.now() - started);
    }
  }
  return durations;
}

/** Measures all paths; everything started here is stopped before returning. */
export async function benchTunnel(): Promise<BenchRow[]> {
  const { provider, kind } = await embeddedProvider();
  const server = await createSandboxMcpServer({ provider });
  const serving = await serveHttp({ server, token: clientToken });
  let gateway: Gateway = await startGateway({ port: 0, daemons: { bench: { daemonToken, clientToken } } });
  // The backoff resets after a healthy period (30 s by default); 1 s here so that each of the
  // restarts below meets a daemon with a fresh backoff, as a restart after a quiet spell would.
  const tunnel = connectTunnel({
    server,
    url: gateway.tunnelUrl,
    daemonId: "bench",
    token: daemonToken,
    healthyAfterMs: 1000,
  });
  const clients: Client[] = [];
  try {
    await gateway.waitForDaemon("bench", AbortSignal.timeout(20_000));
    const stdio = await stdioClient(kind);
    const http = await httpClient(serving.url, clientToken);
    const tunnelled = await httpClient(gateway.endpoint("bench"), clientToken);
    clients.push(stdio, http, tunnelled);
    const direct = async () => {
      await withSandbox(provider, { runtime: "javascript" }, async (sandbox) => {
        await sandbox.runCode?.(code, { language: "javascript" });
      });
    };
    const [directRuns, stdioRuns, httpRuns, tunnelRuns] = (await measureRoundRobin([
      direct,
      callRunCode(stdio),
      callRunCode(http),
      callRunCode(tunnelled),
    ])) as [number[], number[], number[], number[]];

    const concurrent = await Promise.allSettled(Array.from({ length: 200 }, () => callRunCode(tunnelled)()));
    const answered = concurrent.filter((result) => result.status === "fulfilled").length;

    const port = Number(gateway.url.port);
    const reconnects: number[] = [];
    for (let index = 0; index < 5; index++) {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const started = performance.now();
      await gateway.close();
      gateway = await startGateway({ port, daemons: { bench: { daemonToken, clientToken } } });
      await gateway.waitForDaemon("bench", AbortSignal.timeout(60_000));
      reconnects.push(performance.now() - started);
    }

    const label =
      kind === "isolate" ? "cloudflare-isolate (local)" : "local sandbox (isolate engine unavailable)";
    const tunnelP50 = percentile(tunnelRuns, 50);
    const added = tunnelP50 - percentile(directRuns, 50);
    const reconnectWorst = Math.max(...reconnects);
    const row = (path: string, durations: number[]): BenchRow[] => [
      { name: `tunnel: run_code on ${label}, ${path} p50`, value: milliseconds(percentile(durations, 50)) },
      { name: `tunnel: run_code on ${label}, ${path} p95`, value: milliseconds(percentile(durations, 95)) },
    ];
    return [
      ...row("direct provider call", directRuns),
      ...row("stdio", stdioRuns),
      ...row("loopback HTTP", httpRuns),
      ...row("client -> gateway -> tunnel -> daemon", tunnelRuns).map((entry, index) =>
        index === 0 ? { ...entry, target: "<= 25 ms", met: tunnelP50 <= 25 } : entry,
      ),
      {
        name: "tunnel: added over the direct call p50",
        value: milliseconds(added),
        target: "<= 10 ms",
        met: added <= 10,
      },
      {
        name: "tunnel: 200 concurrent calls answered",
        value: `${answered}/200`,
        target: "200/200",
        met: answered === 200,
      },
      {
        name: "tunnel: redial after a gateway restart, worst of 5",
        value: milliseconds(reconnectWorst),
        target: "<= 2 s",
        met: reconnectWorst <= 2000,
      },
    ];
  } finally {
    for (const client of clients) await client.close().catch(() => {});
    await tunnel.stop({ graceMs: 0 });
    await serving.close();
    await gateway.close();
    await server.close();
    await provider.dispose?.();
  }
}
