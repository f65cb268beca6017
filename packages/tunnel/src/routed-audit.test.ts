/**
 * With `provider: "auto"` every call goes through the router: the result and the audit record name
 * the backend that ran the code (what data residency questions ask), not the router.
 */
import { createProcessProvider } from "@sandport/contract/testing";
import { createRouter } from "@sandport/router";
import { describe, expect, it } from "vitest";
import { type AuditRecord, createCallbackAuditLog } from "./audit-log.ts";
import { serveHttp } from "./http-serving.ts";
import { createSandboxMcpServer } from "./sandbox-mcp-server.ts";
import { connectClient, withDeadline } from "./testing/tunnel-test-support.ts";

const token = "routed-audit-token-5566778899";

describe("calls through the router", () => {
  it("name the provider that ran the code in the result and the audit record", async () => {
    const records: AuditRecord[] = [];
    const router = createRouter({ providers: [createProcessProvider({ providerId: "team-box" })] });
    const server = await createSandboxMcpServer({
      provider: router,
      config: { provider: "auto", tenant: "team-a" },
      audit: createCallbackAuditLog((record) => records.push(record)),
    });
    const serving = await serveHttp({ server, token });
    const client = await connectClient(serving.url, token);
    try {
      const result = await withDeadline(
        client.callTool({ name: "run_code", arguments: { language: "shell", code: "echo routed" } }),
        30_000,
        "run_code through the router",
      );
      expect(result.structuredContent).toMatchObject({
        exitCode: 0,
        stdout: "routed\n",
        providerId: "team-box",
      });
      expect(records.find((record) => record.tool === "run_code")).toMatchObject({ provider: "team-box" });
    } finally {
      await client.close();
      await serving.close();
      await server.close();
      await router.dispose();
    }
  }, 40_000);
});
