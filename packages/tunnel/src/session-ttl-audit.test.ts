import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createProcessProvider } from "@sandport/contract/testing";
import type { Sandbox } from "@sandport/core";
import { afterEach, describe, expect, it } from "vitest";
import { type AuditRecord, createFileAuditLog } from "./audit-log.ts";
import { serveHttp } from "./http-serving.ts";
import { createSandboxMcpServer } from "./sandbox-mcp-server.ts";
import { SessionSandboxes } from "./session-sandboxes.ts";
import { connectClient, trackSandboxes, waitUntil, withDeadline } from "./testing/tunnel-test-support.ts";
import type { TunnelConfigInput } from "./tunnel-config.ts";

const token = "ttl-audit-token-0123456789";
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function startServing(config: TunnelConfigInput, auditPath?: string) {
  const provider = trackSandboxes(createProcessProvider());
  const server = await createSandboxMcpServer({
    provider,
    config,
    ...(auditPath === undefined ? {} : { audit: createFileAuditLog(auditPath) }),
  });
  const serving = await serveHttp({ server, token });
  const client = await withDeadline(connectClient(serving.url, token), 20_000, "the client to connect");
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await client.close().catch(() => {});
    await serving.close();
    await server.close();
    await provider.dispose?.();
  };
  cleanups.push(close);
  return { provider, client, close };
}

function textOf(result: { content?: unknown }): string {
  return JSON.stringify(result.content);
}

describe("session sandbox ttl", () => {
  it("destroys a session sandbox when limits.sandboxTtlMs passes; a later call naming it gets a clear error", async () => {
    const { provider, client } = await startServing({ limits: { sandboxTtlMs: 1000 } });
    const created = await withDeadline(
      client.callTool({ name: "sandbox_create", arguments: {} }),
      20_000,
      "sandbox_create",
    );
    expect(created.isError).toBeFalsy();
    const { sandboxId } = created.structuredContent as { sandboxId: string };
    expect(provider.live).toBe(1);
    await waitUntil(() => provider.live === 0, "the expired sandbox was destroyed", 20_000);
    const later = await withDeadline(
      client.callTool({ name: "sandbox_exec", arguments: { sandboxId, command: ["true"] } }),
      20_000,
      "sandbox_exec on the expired sandbox",
    );
    expect(later.isError).toBe(true);
    expect(textOf(later)).toContain("not_found");
    expect(textOf(later)).toContain(sandboxId);
    expect(textOf(later)).toMatch(/ttl|expired/i);
  }, 40_000);

  it("honours a shorter ttlMs asked by sandbox_create and keeps the other sandboxes", async () => {
    const { provider, client } = await startServing({ limits: { sandboxTtlMs: 600_000 } });
    const short = await client.callTool({ name: "sandbox_create", arguments: { ttlMs: 1000 } });
    const long = await client.callTool({ name: "sandbox_create", arguments: {} });
    const shortId = (short.structuredContent as { sandboxId: string }).sandboxId;
    const longId = (long.structuredContent as { sandboxId: string }).sandboxId;
    await waitUntil(() => provider.live === 1, "the short-lived sandbox was destroyed", 20_000);
    const gone = await client.callTool({ name: "sandbox_list_files", arguments: { sandboxId: shortId } });
    expect(gone.isError).toBe(true);
    expect(textOf(gone)).toContain("not_found");
    const alive = await client.callTool({
      name: "sandbox_exec",
      arguments: { sandboxId: longId, command: ["echo", "alive"] },
    });
    expect(alive.structuredContent).toMatchObject({ exitCode: 0, stdout: "alive\n" });
  }, 40_000);
});

describe("SessionSandboxes", () => {
  it("destroys a sandbox through its own timer when the ttl passes, even if the provider ignores ttlMs", async () => {
    let destroyed = 0;
    // A sandbox whose provider would keep it forever: only the session's timer ends it.
    const sandbox = { id: "fake:one", destroy: async () => void destroyed++ } as unknown as Sandbox;
    const sandboxes = new SessionSandboxes({ sessionName: "test", ttlMs: 50, maxSandboxes: 2 });
    sandboxes.adopt(sandbox, "fake", sandboxes.reserve());
    expect(sandboxes.get("fake:one").sandbox).toBe(sandbox);
    await waitUntil(() => destroyed === 1, "the session destroyed the expired sandbox", 10_000);
    expect(sandboxes.size).toBe(0);
    expect(() => sandboxes.get("fake:one")).toThrow(/fake:one expired/);
    expect(() => sandboxes.get("fake:other")).toThrow(/not one this session created/);
    await sandboxes.close();
    expect(destroyed).toBe(1);
  });
});

describe("file audit log", () => {
  it("writes one JSON line per call with what happened and never code, file contents, env values or tokens", async () => {
    const directory = await mkdtemp(join(tmpdir(), "sandport-audit-"));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    const path = join(directory, "audit.jsonl");
    const secrets = {
      code: "sk-live-CODE0123456789abcdef",
      env: "ghp_ENVVALUE0123456789abcdef",
      createEnv: "AKIA-CREATEENV0123456789",
      file: "-----BEGIN PRIVATE KEY----- FILE0123456789",
      command: "xoxb-COMMAND0123456789abcdef",
    };
    const { client, close } = await startServing({ tenant: "team-audit" }, path);

    const ran = await withDeadline(
      client.callTool({
        name: "run_code",
        arguments: {
          language: "shell",
          code: `echo "${secrets.code}" > /dev/null; echo "$API_KEY" > /dev/null; exit 3`,
          env: { API_KEY: secrets.env },
        },
      }),
      20_000,
      "run_code",
    );
    expect(ran.structuredContent).toMatchObject({ exitCode: 3 });
    const created = await client.callTool({
      name: "sandbox_create",
      arguments: { env: { DB_PASSWORD: secrets.createEnv } },
    });
    const { sandboxId } = created.structuredContent as { sandboxId: string };
    await client.callTool({
      name: "sandbox_write_file",
      arguments: { sandboxId, path: "key.pem", content: secrets.file },
    });
    const read = await client.callTool({
      name: "sandbox_read_file",
      arguments: { sandboxId, path: "key.pem" },
    });
    expect(read.structuredContent).toMatchObject({ content: secrets.file });
    await client.callTool({
      name: "sandbox_exec",
      arguments: { sandboxId, command: ["sh", "-c", `echo ${secrets.command} > /dev/null`] },
    });
    const missing = await client.callTool({
      name: "sandbox_exec",
      arguments: { sandboxId: "process:nope", command: ["true"] },
    });
    expect(missing.isError).toBe(true);
    await close(); // closes the audit log: every record is flushed

    const text = await readFile(path, "utf8");
    for (const secret of [...Object.values(secrets), token]) expect(text).not.toContain(secret);
    expect(text).not.toContain("API_KEY");
    expect(text).not.toContain("key.pem");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const lines = text.split("\n").filter((line) => line !== "");
    const records = lines.map((line) => JSON.parse(line) as AuditRecord);
    expect(records.map((record) => record.tool)).toEqual([
      "run_code",
      "sandbox_create",
      "sandbox_write_file",
      "sandbox_read_file",
      "sandbox_exec",
      "sandbox_exec",
    ]);
    for (const record of records) {
      expect(Number.isNaN(Date.parse(record.time))).toBe(false);
      expect(record.time).toBe(new Date(record.time).toISOString());
      expect(record.durationMs).toBeGreaterThanOrEqual(0);
      expect(record).toMatchObject({ tenant: "team-audit", transport: "http" });
    }
    const [runCode, create, , , exec, failed] = records;
    expect(runCode).toMatchObject({ provider: "process", exitCode: 3 });
    expect(runCode?.sandboxId).toMatch(/^process:/);
    expect(runCode?.errorCode).toBeUndefined();
    expect(create).toMatchObject({ provider: "process", sandboxId });
    expect(exec).toMatchObject({ provider: "process", sandboxId, exitCode: 0 });
    expect(failed).toMatchObject({ errorCode: "not_found" });
    expect(failed?.exitCode).toBeUndefined();
    // Only the documented fields, nothing else that could carry input.
    const allowed = new Set([
      "time",
      "tool",
      "tenant",
      "provider",
      "sandboxId",
      "durationMs",
      "exitCode",
      "timedOut",
      "truncated",
      "errorCode",
      "transport",
    ]);
    for (const record of records) for (const key of Object.keys(record)) expect(allowed).toContain(key);
  }, 60_000);
});
