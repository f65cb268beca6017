/**
 * What `sandport serve` and `sandport tunnel` share: the MCP sandbox tools built from
 * `sandport.json` — the provider `tunnel.provider` names (or the router for "auto"), the tenant,
 * limits and audit log of the `tunnel` section, with its `${env:...}` / `${file:...}` references
 * resolved here and nowhere logged.
 */
import { resolveSecretReferences } from "@sandport/core";
import { nodeSecretSource } from "@sandport/core/node";
import type { SandboxMcpServer, TunnelConfig } from "@sandport/tunnel";
import type { CliContext } from "./cli-context.ts";
import { loadCliConfig } from "./load-config.ts";

/** The running tool server and what it holds. */
export interface SandboxToolServer {
  server: SandboxMcpServer;
  config: TunnelConfig;
  /** Ends every session (destroying its sandboxes) and releases the providers. */
  close(): Promise<void>;
}

/** Builds the tool server from the loaded config. */
export async function startSandboxToolServer(context: CliContext): Promise<SandboxToolServer> {
  const { environment, registry } = context;
  const { config } = loadCliConfig({ registry, environment, path: context.globalOptions().config });
  const section = resolveSecretReferences(
    config.tunnel ?? {},
    nodeSecretSource(environment.env),
    "tunnel",
  ) as Record<string, unknown>;
  const [{ createSandport }, tunnel] = await Promise.all([import("sandport"), import("@sandport/tunnel")]);
  const sandport = createSandport({ config, registry, env: environment.env });
  const named =
    typeof section.provider === "string" && section.provider !== "auto" ? section.provider : undefined;
  const provider = named === undefined ? await sandport.router() : await sandport.provider(named);
  const audit = section.audit as { path?: string } | undefined;
  const server = await tunnel.createSandboxMcpServer({
    provider,
    resolveProvider: (name) => sandport.provider(name),
    providerNames: Object.keys(config.providers),
    config: section,
    ...(audit?.path === undefined ? {} : { audit: tunnel.createFileAuditLog(audit.path) }),
    logger: tunnel.stderrLogger(context.globalOptions().verbose === true ? "debug" : "info"),
  });
  return {
    server,
    config: server.config,
    async close() {
      await server.close();
      await sandport.dispose();
    },
  };
}

/**
 * Resolves at the first Ctrl-C / SIGTERM. The listener stays registered, so a second signal during
 * the graceful shutdown exits at once (see cli-environment.ts).
 */
export function firstInterrupt(context: CliContext): Promise<void> {
  return new Promise((resolve) => {
    context.environment.onInterrupt(() => resolve());
  });
}
