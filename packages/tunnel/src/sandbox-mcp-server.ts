/**
 * `createSandboxMcpServer`: the sandbox tools as an MCP server over one `SandboxProvider` (the
 * router for "auto", or the provider the config names). Transports open sessions on it; each
 * session builds MCP server instances through the SDK's factory seam and owns the sandboxes it
 * created.
 */
import { McpServer, type McpServerFactory, type ServerContext } from "@modelcontextprotocol/server";
import { ConfigInvalidError, describeIssues, type SandboxProvider, toSandportError } from "@sandport/core";
import type { AuditLog, AuditRecord } from "./audit-log.ts";
import { type DaemonLogger, silentLogger } from "./daemon-log.ts";
import { sandboxToolSchemas } from "./sandbox-tool-schemas.ts";
import {
  resultText,
  sandboxToolDescriptions,
  sandboxToolRuns,
  type ToolCallContext,
} from "./sandbox-tools.ts";
import { SessionSandboxes } from "./session-sandboxes.ts";
import {
  type SandboxToolName,
  sandboxToolNames,
  type TunnelConfig,
  type TunnelConfigInput,
  tunnelConfigSchema,
} from "./tunnel-config.ts";

/** The version the daemon announces (server info, tunnel hello). */
export const tunnelVersion = "0.1.0";

/** Options of {@link createSandboxMcpServer}. */
export interface SandboxMcpServerOptions {
  /** The provider "auto" means: normally the router, which picks a backend per request. */
  provider: SandboxProvider;
  /** Resolves a configured provider by name, for `tunnel.provider` naming one. */
  resolveProvider?: (name: string) => SandboxProvider | undefined | Promise<SandboxProvider | undefined>;
  /** Configured provider names the `providers` tool describes besides the selected one. */
  providerNames?: readonly string[];
  /** The `tunnel` section of `sandport.json` (validated here; defaults applied). */
  config?: TunnelConfigInput;
  /** Receives one record per tool call. */
  audit?: AuditLog;
  /** Operational log (default: nothing). */
  logger?: DaemonLogger;
  /** Server name in MCP server info (default `sandport`). */
  name?: string;
}

/** How a session's calls arrived. */
export type SessionTransport = "stdio" | "http" | "tunnel";

/** One MCP session: its server factory and the sandboxes it holds. */
export interface SandboxMcpSession {
  /** Builds an MCP server instance for the SDK's serving entries (`createMcpHandler`, `serveStdio`). */
  readonly factory: McpServerFactory;
  readonly sandboxes: SessionSandboxes;
  /** Ends the session: its sandboxes are destroyed. */
  close(): Promise<void>;
}

/** The sandbox tools as an MCP server. */
export interface SandboxMcpServer {
  /** The `tunnel` config with defaults applied. */
  readonly config: TunnelConfig;
  /** Tools exposed, in `tools/list` order. */
  readonly toolNames: readonly SandboxToolName[];
  /** The provider every call goes to. */
  readonly provider: SandboxProvider;
  /** Opens a session for a transport. */
  openSession(transport: SessionTransport): SandboxMcpSession;
  /** Ends every open session (their sandboxes are destroyed) and closes the audit log. */
  close(): Promise<void>;
}

function parseTunnelConfig(input: TunnelConfigInput | undefined): TunnelConfig {
  const result = tunnelConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    throw new ConfigInvalidError(`invalid tunnel config: ${describeIssues(result.error)}`, {
      cause: result.error,
    });
  }
  return result.data;
}

async function selectProvider(options: SandboxMcpServerOptions, name: string): Promise<SandboxProvider> {
  if (name === "auto") return options.provider;
  const provider = await options.resolveProvider?.(name);
  if (provider === undefined) {
    throw new ConfigInvalidError(`tunnel.provider: "${name}" is not a configured provider (or "auto")`);
  }
  return provider;
}

/** Builds the server; fails with `config_invalid` for a bad config or an unknown provider name. */
export async function createSandboxMcpServer(options: SandboxMcpServerOptions): Promise<SandboxMcpServer> {
  const config = parseTunnelConfig(options.config);
  const provider = await selectProvider(options, config.provider);
  const logger = options.logger ?? silentLogger;
  const requested = config.tools ?? sandboxToolNames;
  const toolNames = sandboxToolNames.filter(
    (name) =>
      requested.includes(name) && (name !== "sandbox_expose_port" || provider.capabilities.features.ports),
  );
  if (config.tools?.includes("sandbox_expose_port") && !provider.capabilities.features.ports) {
    throw new ConfigInvalidError(
      `tunnel.tools: sandbox_expose_port needs a provider with ports; ${provider.providerId} has none`,
    );
  }
  const schemas = sandboxToolSchemas(config.limits);
  const sessions = new Set<SandboxMcpSession>();
  const describeProviders = async () => {
    const described = [provider];
    for (const name of options.providerNames ?? []) {
      const named = await options.resolveProvider?.(name);
      if (named !== undefined && !described.includes(named)) described.push(named);
    }
    return described;
  };

  function registerTools(server: McpServer, session: SessionSandboxes, transport: SessionTransport): void {
    for (const name of toolNames) {
      const schema = schemas[name];
      server.registerTool(
        name,
        {
          description: sandboxToolDescriptions[name],
          inputSchema: schema.input,
          outputSchema: schema.output,
          annotations: {
            openWorldHint: false,
            readOnlyHint: name === "providers" || name === "sandbox_read_file",
          },
        },
        async (input: unknown, context: ServerContext) => {
          const started = performance.now();
          const audit: Partial<AuditRecord> = {};
          const deadlineMs =
            ((input as { timeoutMs?: number }).timeoutMs ?? config.limits.defaultTimeoutMs) +
            config.limits.createTimeoutMs;
          const signal = AbortSignal.any([context.mcpReq.signal, AbortSignal.timeout(deadlineMs)]);
          const call: ToolCallContext = {
            provider,
            limits: config.limits,
            session,
            labels: {
              "sandport.tool": name,
              ...(config.tenant === undefined ? {} : { "sandport.tenant": config.tenant }),
            },
            signal,
            audit,
            logger,
            selectedProvider: config.provider,
            describeProviders,
          };
          const time = new Date().toISOString();
          const record = (errorCode?: string) =>
            options.audit?.write({
              time,
              tool: name,
              ...(config.tenant === undefined ? {} : { tenant: config.tenant }),
              ...audit,
              durationMs: Math.round((performance.now() - started) * 100) / 100,
              ...(errorCode === undefined ? {} : { errorCode }),
              transport,
            });
          try {
            const run = sandboxToolRuns[name] as (
              input: unknown,
              context: ToolCallContext,
            ) => Promise<object>;
            const output = await run(input, call);
            record();
            return {
              content: [{ type: "text" as const, text: resultText(output) }],
              structuredContent: output as Record<string, unknown>,
            };
          } catch (thrown) {
            const error = toSandportError(thrown, audit.provider);
            record(error.code);
            logger({ level: "info", event: "tool-failed", tool: name, code: error.code });
            return {
              isError: true,
              content: [{ type: "text" as const, text: `${error.code}: ${error.message}` }],
            };
          }
        },
      );
    }
  }

  return {
    config,
    toolNames,
    provider,
    openSession(transport) {
      const sandboxes = new SessionSandboxes({
        sessionName: transport,
        ttlMs: config.limits.sandboxTtlMs,
        maxSandboxes: config.limits.maxSandboxesPerSession,
        logger,
      });
      const session: SandboxMcpSession = {
        factory: () => {
          const server = new McpServer(
            { name: options.name ?? "sandport", version: tunnelVersion },
            { capabilities: { tools: {} } },
          );
          registerTools(server, sandboxes, transport);
          return server;
        },
        sandboxes,
        close: async () => {
          sessions.delete(session);
          await sandboxes.close();
        },
      };
      sessions.add(session);
      return session;
    },
    async close() {
      await Promise.all([...sessions].map((session) => session.close()));
      await options.audit?.close();
    },
  };
}
