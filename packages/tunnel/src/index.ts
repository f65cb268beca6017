/**
 * `@sandport/tunnel`: sandport's sandbox tools as an MCP server, served over stdio, loopback
 * Streamable HTTP and an outbound-only WebSocket tunnel, plus the reference gateway.
 */
export { type AuditLog, type AuditRecord, createCallbackAuditLog, createFileAuditLog } from "./audit-log.ts";
export { type DaemonLogEntry, type DaemonLogger, silentLogger, stderrLogger } from "./daemon-log.ts";
export { type Gateway, type StartGatewayOptions, startGateway } from "./gateway.ts";
export { type HttpServing, type ServeHttpOptions, serveHttp } from "./http-serving.ts";
export { ReconnectBackoff, type ReconnectBackoffSettings } from "./reconnect-backoff.ts";
export {
  createSandboxMcpServer,
  type SandboxMcpServer,
  type SandboxMcpServerOptions,
  type SandboxMcpSession,
  type SessionTransport,
  tunnelVersion,
} from "./sandbox-mcp-server.ts";
export { SessionSandboxes, type SessionSandboxesSettings } from "./session-sandboxes.ts";
export { type ServeStdioOptions, type StdioServing, serveStdio } from "./stdio-serving.ts";
export {
  type ConnectTunnelOptions,
  connectTunnel,
  type StopOptions,
  type TunnelConnection,
  type TunnelStatus,
} from "./tunnel-client.ts";
export {
  type GatewayConfig,
  type GatewayConfigInput,
  gatewayConfigSchema,
  gatewayDaemonSchema,
  type SandboxToolName,
  sandboxToolNames,
  type TunnelConfig,
  type TunnelConfigInput,
  type TunnelLimits,
  tunnelConfigSchema,
  tunnelGatewayConfigSchema,
  tunnelHttpConfigSchema,
  tunnelLimitsSchema,
} from "./tunnel-config.ts";
export { daemonIdHeader, tunnelProtocol } from "./tunnel-frames.ts";
