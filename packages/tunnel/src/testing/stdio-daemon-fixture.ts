/**
 * A daemon serving the sandbox tools over stdio on the embedded local provider, started by the
 * stdio tests as a child process (`node --conditions=@sandport/source <this file>`).
 */
import { createLocalProvider } from "@sandport/local";
import { createSandboxMcpServer } from "../sandbox-mcp-server.ts";
import { serveStdio } from "../stdio-serving.ts";

const provider = createLocalProvider();
const server = await createSandboxMcpServer({ provider, config: { tenant: "stdio-test" } });
const serving = serveStdio({ server });
await serving.closed;
await server.close();
await provider.dispose?.();
