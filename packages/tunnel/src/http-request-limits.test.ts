import { request as httpRequest, type IncomingMessage } from "node:http";
import { createProcessProvider } from "@sandport/contract/testing";
import { afterEach, describe, expect, it } from "vitest";
import { startGateway } from "./gateway.ts";
import { serveHttp } from "./http-serving.ts";
import { createSandboxMcpServer } from "./sandbox-mcp-server.ts";
import { connectClient, withDeadline } from "./testing/tunnel-test-support.ts";
import { connectTunnel } from "./tunnel-client.ts";

const token = "limits-token-0123456789";
const maxRequestBytes = 4096;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function startServing() {
  const provider = createProcessProvider();
  const server = await createSandboxMcpServer({ provider });
  const serving = await serveHttp({ server, token, maxRequestBytes });
  cleanups.push(async () => {
    await serving.close();
    await server.close();
    await provider.dispose?.();
  });
  return serving.url;
}

async function startTunnelled() {
  const gateway = await startGateway({
    port: 0,
    maxRequestBytes,
    daemons: { alpha: { daemonToken: "limits-daemon-token-0123", clientToken: token } },
  });
  const provider = createProcessProvider();
  const server = await createSandboxMcpServer({ provider });
  const tunnel = connectTunnel({
    server,
    url: gateway.tunnelUrl,
    daemonId: "alpha",
    token: "limits-daemon-token-0123",
  });
  cleanups.push(async () => {
    await tunnel.stop({ graceMs: 0 });
    await gateway.close();
    await server.close();
    await provider.dispose?.();
  });
  await withDeadline(gateway.waitForDaemon("alpha"), 10_000, "the daemon to connect");
  return gateway.endpoint("alpha");
}

interface Outcome {
  status: number;
  body: string;
  /** Body bytes the client had written when the answer came. */
  sent: number;
}

/**
 * POSTs a body that never ends: `declaredLength` in Content-Length (or chunked when undefined),
 * 1 KiB written at a time until the server answers. The server must answer before the body ends.
 */
function postEndlessBody(url: URL, declaredLength: number | undefined): Promise<Outcome> {
  return new Promise<Outcome>((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const request = httpRequest(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        authorization: `Bearer ${token}`,
        ...(declaredLength === undefined ? {} : { "content-length": String(declaredLength) }),
      },
    });
    const chunk = Buffer.alloc(1024, 0x20);
    const pump = () => {
      if (answered || request.destroyed) return;
      // Never the whole declared body: the last byte is never sent.
      if (declaredLength !== undefined && sent + chunk.byteLength >= declaredLength) return;
      sent += chunk.byteLength;
      if (request.write(chunk)) setImmediate(pump);
      else request.once("drain", pump);
    };
    request.on("response", (response: IncomingMessage) => {
      answered = true;
      const parts: Buffer[] = [];
      response.on("data", (part: Buffer) => parts.push(part));
      response.on("end", () => {
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(parts).toString("utf8"), sent });
        request.destroy();
      });
      response.on("error", reject);
    });
    request.on("error", (error) => {
      if (!answered) reject(error);
    });
    request.flushHeaders();
    pump();
  });
}

async function post(url: URL, body: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      authorization: `Bearer ${token}`,
    },
    body,
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, body: await response.text() };
}

for (const [name, start] of [
  ["loopback HTTP (serveHttp)", startServing],
  ["the gateway", startTunnelled],
] as const) {
  describe(`malformed MCP input over ${name}`, () => {
    it("refuses a body whose Content-Length is over maxRequestBytes with 413 before reading it", async () => {
      const url = await start();
      const outcome = await withDeadline(
        postEndlessBody(url, 64 * 1024 * 1024),
        15_000,
        "a 413 for a declared 64 MiB body",
      );
      expect(outcome.status).toBe(413);
      expect(JSON.parse(outcome.body)).toMatchObject({
        jsonrpc: "2.0",
        error: { message: expect.any(String) },
      });
      expect(outcome.sent).toBeLessThan(64 * 1024 * 1024);
    }, 30_000);

    it("refuses a chunked body once it passes maxRequestBytes with 413, without waiting for its end", async () => {
      const url = await start();
      const outcome = await withDeadline(
        postEndlessBody(url, undefined),
        15_000,
        "a 413 for an endless chunked body",
      );
      expect(outcome.status).toBe(413);
      expect(JSON.parse(outcome.body)).toMatchObject({ jsonrpc: "2.0", error: {} });
    }, 30_000);

    it("answers a body that is not JSON with a JSON-RPC parse error and keeps serving", async () => {
      const url = await start();
      const garbage = await post(url, '{"jsonrpc": "2.0", "method": ');
      expect(garbage.status).toBeGreaterThanOrEqual(400);
      expect(garbage.status).toBeLessThan(500);
      expect(JSON.parse(garbage.body)).toMatchObject({ error: { code: -32700 } });
      const notRpc = await post(url, JSON.stringify({ hello: "world" }));
      expect(notRpc.status).toBeGreaterThanOrEqual(400);
      expect(notRpc.status).toBeLessThan(500);
      const client = await withDeadline(connectClient(url, token), 15_000, "a client after the bad input");
      cleanups.push(() => client.close());
      const { tools } = await withDeadline(client.listTools(), 15_000, "tools/list after the bad input");
      expect(tools.length).toBeGreaterThan(0);
    }, 30_000);
  });
}
