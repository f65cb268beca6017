import { createLocalProvider } from "@sandport/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditRecord, createCallbackAuditLog } from "./audit-log.ts";
import { serveHttp } from "./http-serving.ts";
import { createSandboxMcpServer } from "./sandbox-mcp-server.ts";
import { connectClient, trackSandboxes, withDeadline } from "./testing/tunnel-test-support.ts";
import { sandboxToolNames } from "./tunnel-config.ts";

const token = "http-test-token-0123456789";
const provider = trackSandboxes(createLocalProvider());

afterAll(async () => {
  await provider.dispose?.();
});

async function startServing(config: Parameters<typeof createSandboxMcpServer>[0]["config"] = {}) {
  const records: AuditRecord[] = [];
  const server = await createSandboxMcpServer({
    provider,
    config: { tenant: "team-a", ...config },
    audit: createCallbackAuditLog((record) => records.push(record)),
  });
  const serving = await serveHttp({ server, token });
  return {
    records,
    serving,
    close: async () => {
      await serving.close();
      await server.close();
    },
  };
}

describe("serveHttp", () => {
  let started: Awaited<ReturnType<typeof startServing>>;
  beforeAll(async () => {
    started = await startServing({ limits: { maxCodeBytes: 1000, maxOutputBytes: 100 } });
  }, 30_000);
  afterAll(async () => started.close());

  it("lists every tool with its input and output schema", async () => {
    const client = await connectClient(started.serving.url, token);
    try {
      const { tools } = await withDeadline(client.listTools(), 20_000, "tools/list");
      expect(tools.map((tool) => tool.name)).toEqual([...sandboxToolNames]);
      const runCode = tools.find((tool) => tool.name === "run_code");
      expect(runCode?.inputSchema.required).toEqual(["language", "code"]);
      expect(runCode?.inputSchema.properties?.code).toMatchObject({ type: "string", maxLength: 1000 });
      expect(runCode?.outputSchema?.properties).toHaveProperty("exitCode");
    } finally {
      await client.close();
    }
  }, 30_000);

  it("runs code over loopback HTTP, with an audit record that holds no code", async () => {
    const client = await connectClient(started.serving.url, token);
    try {
      const result = await withDeadline(
        client.callTool({ name: "run_code", arguments: { language: "shell", code: "echo secret-$((6*7))" } }),
        30_000,
        "run_code",
      );
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toMatchObject({
        exitCode: 0,
        stdout: "secret-42\n",
        truncated: false,
      });
      const record = started.records.find((entry) => entry.tool === "run_code");
      expect(record).toMatchObject({ tenant: "team-a", exitCode: 0, transport: "http", provider: "local" });
      expect(JSON.stringify(started.records)).not.toContain("secret");
      expect(provider.live).toBe(0);
    } finally {
      await client.close();
    }
  }, 40_000);

  it("answers bad tool input with an error naming the field", async () => {
    const client = await connectClient(started.serving.url, token);
    try {
      const result = await client.callTool({ name: "run_code", arguments: { language: "cobol", code: "x" } });
      expect(result.isError).toBe(true);
      expect(JSON.stringify(result.content)).toContain("language");
    } finally {
      await client.close();
    }
  }, 30_000);

  it("refuses code over the size limit and flags output over it as truncated", async () => {
    const client = await connectClient(started.serving.url, token);
    try {
      const tooLong = await client.callTool({
        name: "run_code",
        arguments: { language: "shell", code: `echo ${"x".repeat(2000)}` },
      });
      expect(tooLong.isError).toBe(true);
      expect(JSON.stringify(tooLong.content)).toContain("code");
      // Multi-byte characters: under the character bound, over the byte bound.
      const wide = await client.callTool({
        name: "run_code",
        arguments: { language: "shell", code: `echo ${"é".repeat(600)}` },
      });
      expect(wide.isError).toBe(true);
      expect(JSON.stringify(wide.content)).toContain("limits.maxCodeBytes");
      const loud = await withDeadline(
        client.callTool({
          name: "run_code",
          arguments: { language: "shell", code: "head -c 5000 /dev/zero | tr '\\\\0' y" },
        }),
        30_000,
        "run_code with long output",
      );
      expect(loud.structuredContent).toMatchObject({ truncated: true });
      expect((loud.structuredContent as { stdout: string }).stdout.length).toBeLessThanOrEqual(100);
    } finally {
      await client.close();
    }
  }, 60_000);

  it("refuses a wrong token and a foreign Origin", async () => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const wrong = await fetch(started.serving.url, {
      method: "POST",
      body,
      headers: { ...headers, authorization: "Bearer nope" },
    });
    expect(wrong.status).toBe(401);
    const none = await fetch(started.serving.url, { method: "POST", body, headers });
    expect(none.status).toBe(401);
    const foreign = await fetch(started.serving.url, {
      method: "POST",
      body,
      headers: { ...headers, authorization: `Bearer ${token}`, origin: "https://evil.example" },
    });
    expect(foreign.status).toBe(403);
  });
});

describe("sessions and tool selection", () => {
  it("exposes only the configured tools", async () => {
    const started = await startServing({ tools: ["run_code", "providers"] });
    const client = await connectClient(started.serving.url, token);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(["run_code", "providers"]);
      const described = await client.callTool({ name: "providers", arguments: {} });
      expect(described.structuredContent).toMatchObject({
        selected: "auto",
        providers: [{ providerId: "local" }],
      });
    } finally {
      await client.close();
      await started.close();
    }
  }, 30_000);

  it("destroys the sandboxes a session created when the session ends", async () => {
    const started = await startServing();
    const client = await connectClient(started.serving.url, token);
    try {
      const created = await withDeadline(
        client.callTool({ name: "sandbox_create", arguments: {} }),
        30_000,
        "sandbox_create",
      );
      const { sandboxId } = created.structuredContent as { sandboxId: string };
      await client.callTool({
        name: "sandbox_write_file",
        arguments: { sandboxId, path: "a.txt", content: "hello" },
      });
      const read = await client.callTool({
        name: "sandbox_read_file",
        arguments: { sandboxId, path: "a.txt" },
      });
      expect(read.structuredContent).toMatchObject({ content: "hello", bytes: 5 });
      const ran = await client.callTool({
        name: "sandbox_exec",
        arguments: { sandboxId, command: ["cat", "a.txt"] },
      });
      expect(ran.structuredContent).toMatchObject({ stdout: "hello", exitCode: 0 });
      const listed = await client.callTool({ name: "sandbox_list_files", arguments: { sandboxId } });
      expect(JSON.stringify(listed.structuredContent)).toContain("a.txt");
      const foreign = await client.callTool({
        name: "sandbox_exec",
        arguments: { sandboxId: "local:other", command: ["true"] },
      });
      expect(JSON.stringify(foreign.content)).toContain("not_found");
      expect(provider.live).toBe(1);
    } finally {
      await client.close();
      await started.close();
    }
    expect(provider.live).toBe(0);
  }, 60_000);
});
