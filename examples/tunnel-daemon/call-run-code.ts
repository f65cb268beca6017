/**
 * An MCP client calling the daemon through the gateway: `run_code` of a small program, printed as
 * JSON. Usage: node call-run-code.ts <endpoint URL> <language> <code> (client token in
 * $SANDPORT_CLIENT_TOKEN).
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const [endpoint = "http://127.0.0.1:7420/mcp/example", language = "javascript", code = "console.log(6 * 7)"] =
  process.argv.slice(2);
const token = process.env.SANDPORT_CLIENT_TOKEN ?? "";
const client = new Client({ name: "tunnel-daemon-example", version: "0.0.0" });
await client.connect(
  new StreamableHTTPClientTransport(new URL(endpoint), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  }),
);
try {
  const result = await client.callTool({ name: "run_code", arguments: { language, code } });
  process.stdout.write(`${JSON.stringify(result.structuredContent)}\n`);
} finally {
  await client.close();
}
