import { createProcessProvider } from "@sandport/contract/testing";
import { createLocalProvider } from "@sandport/local";
import { afterEach, describe, expect, it } from "vitest";
import { serveHttp } from "./http-serving.ts";
import { createSandboxMcpServer } from "./sandbox-mcp-server.ts";
import { connectClient, trackSandboxes, withDeadline } from "./testing/tunnel-test-support.ts";
import type { TunnelConfigInput } from "./tunnel-config.ts";

const token = "expose-port-token-0123456789";
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function startServing(
  provider: Parameters<typeof createSandboxMcpServer>[0]["provider"],
  config: TunnelConfigInput = {},
) {
  const server = await createSandboxMcpServer({ provider, config });
  const serving = await serveHttp({ server, token });
  const client = await withDeadline(connectClient(serving.url, token), 20_000, "the client to connect");
  cleanups.push(async () => {
    await client.close().catch(() => {});
    await serving.close();
    await server.close();
    await provider.dispose?.();
  });
  return { server, client };
}

/**
 * Node code for an HTTP server on a free port of the sandbox's loopback: it writes the port to
 * `port.txt` (atomically), answers one request with `greeting` and exits.
 */
function oneShotServer(greeting: string): string {
  return `const fs = require("node:fs");
const server = require("node:http").createServer((request, response) => {
  response.end(${JSON.stringify(greeting)}, () => server.close());
});
server.listen(0, "127.0.0.1", () => {
  fs.writeFileSync("port.tmp", String(server.address().port));
  fs.renameSync("port.tmp", "port.txt");
});
setTimeout(() => process.exit(2), 25000).unref();`;
}

describe("sandbox_expose_port", () => {
  it("is listed for a provider with ports, and its URL reaches a server started in the sandbox", async () => {
    const provider = trackSandboxes(createLocalProvider());
    expect(provider.capabilities.features.ports).toBe(true);
    const { client } = await startServing(provider);
    const { tools } = await withDeadline(client.listTools(), 20_000, "tools/list");
    const expose = tools.find((tool) => tool.name === "sandbox_expose_port");
    expect(expose?.inputSchema.required).toEqual(expect.arrayContaining(["sandboxId", "port"]));

    const created = await withDeadline(
      client.callTool({ name: "sandbox_create", arguments: { runtime: "javascript" } }),
      30_000,
      "sandbox_create",
    );
    expect(created.isError).toBeFalsy();
    const { sandboxId } = created.structuredContent as { sandboxId: string };
    const greeting = `hello through the exposed port ${Math.random()}`;
    // The server runs as long as this call is in flight; it exits after one request.
    const serverCall = client.callTool({
      name: "sandbox_exec",
      arguments: { sandboxId, command: ["node", "-e", oneShotServer(greeting)], timeoutMs: 30_000 },
    });
    let serverEnded = false;
    void serverCall.finally(() => {
      serverEnded = true;
    });

    const deadline = Date.now() + 20_000;
    let port: number | undefined;
    while (port === undefined) {
      if (serverEnded)
        throw new Error(`the server in the sandbox ended early: ${JSON.stringify(await serverCall)}`);
      if (Date.now() > deadline)
        throw new Error("timed out after 20000 ms waiting for the server to write port.txt");
      const read = await client.callTool({
        name: "sandbox_read_file",
        arguments: { sandboxId, path: "port.txt" },
      });
      const content = (read.structuredContent as { content?: string } | undefined)?.content;
      if (read.isError !== true && content !== undefined && /^\d+$/.test(content)) port = Number(content);
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const exposed = await withDeadline(
      client.callTool({ name: "sandbox_expose_port", arguments: { sandboxId, port } }),
      20_000,
      "sandbox_expose_port",
    );
    expect(exposed.isError).toBeFalsy();
    const { url, headers } = exposed.structuredContent as { url: string; headers?: Record<string, string> };
    expect(url).toMatch(/^https?:\/\//);
    const response = await withDeadline(
      fetch(url, { headers: { ...headers }, signal: AbortSignal.timeout(15_000) }),
      20_000,
      "fetch through the exposed URL",
    );
    expect(await response.text()).toBe(greeting);
    const ended = await withDeadline(serverCall, 30_000, "the server in the sandbox to exit");
    expect(ended.structuredContent).toMatchObject({ exitCode: 0 });

    const invalid = await client.callTool({
      name: "sandbox_expose_port",
      arguments: { sandboxId, port: 70_000 },
    });
    expect(invalid.isError).toBe(true);
    expect(JSON.stringify(invalid.content)).toContain("port");
    const foreign = await client.callTool({
      name: "sandbox_expose_port",
      arguments: { sandboxId: "local:not-mine", port: 8080 },
    });
    expect(JSON.stringify(foreign.content)).toContain("not_found");
  }, 90_000);

  it("is absent from tools/list for a provider without ports, and refused when configured for one", async () => {
    const provider = createProcessProvider();
    expect(provider.capabilities.features.ports).toBe(false);
    const { client, server } = await startServing(provider);
    expect(server.toolNames).not.toContain("sandbox_expose_port");
    const { tools } = await withDeadline(client.listTools(), 20_000, "tools/list");
    expect(tools.map((tool) => tool.name)).not.toContain("sandbox_expose_port");
    expect(tools.map((tool) => tool.name)).toContain("sandbox_create");
    // Not registered at all: the call is a protocol error, not a tool that fails at run time.
    await expect(
      client.callTool({ name: "sandbox_expose_port", arguments: { sandboxId: "process:x", port: 8080 } }),
    ).rejects.toThrow(/sandbox_expose_port not found/);

    await expect(
      createSandboxMcpServer({ provider, config: { tools: ["run_code", "sandbox_expose_port"] } }),
    ).rejects.toThrow(/sandbox_expose_port needs a provider with ports/);
  }, 40_000);
});
