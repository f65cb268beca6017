import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { describe, expect, it } from "vitest";
import { withDeadline } from "./testing/tunnel-test-support.ts";

const fixture = fileURLToPath(new URL("./testing/stdio-daemon-fixture.ts", import.meta.url));

describe("serveStdio", () => {
  it("runs code for a client that started the daemon as a child process", async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ["--conditions=@sandport/source", fixture],
      stderr: "pipe",
    });
    const client = new Client({ name: "sandport-test", version: "0.0.0" });
    try {
      await withDeadline(client.connect(transport), 20_000, "the stdio daemon to start");
      const { tools } = await withDeadline(client.listTools(), 20_000, "tools/list over stdio");
      expect(tools.map((tool) => tool.name)).toContain("run_code");
      const result = await withDeadline(
        client.callTool({ name: "run_code", arguments: { language: "python", code: "print(6 * 7)" } }),
        30_000,
        "run_code over stdio",
      );
      expect(result.structuredContent).toMatchObject({ exitCode: 0, stdout: "42\n" });
    } finally {
      // Closing stdin ends the session; the transport kills the child if it lingers.
      await client.close();
    }
  }, 60_000);
});
