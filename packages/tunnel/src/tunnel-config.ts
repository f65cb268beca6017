/**
 * The `tunnel` and `gateway` sections of `sandport.json`: which tools the daemon exposes, its
 * per-call limits, the provider it uses, and how it is reached (stdio, loopback HTTP, a gateway).
 * Strict schemas (no unknown keys) whose JSON Schema form ships for editors. Token strings may hold
 * `${env:...}` / `${file:...}` references, which the caller resolves before serving.
 */
import * as z from "zod";

/** Every tool the daemon can expose, in the order `tools/list` shows them. */
export const sandboxToolNames = [
  "run_code",
  "exec",
  "sandbox_create",
  "sandbox_exec",
  "sandbox_write_file",
  "sandbox_read_file",
  "sandbox_destroy",
  "sandbox_list_files",
  "sandbox_expose_port",
  "providers",
] as const;

/** The name of one tool the daemon can expose. */
export type SandboxToolName = (typeof sandboxToolNames)[number];

const mebibyte = 1024 * 1024;
const daemonIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Per-call size and time limits of the tools. */
export const tunnelLimitsSchema = z
  .strictObject({
    maxCodeBytes: z
      .int()
      .min(1)
      .max(16 * mebibyte)
      .default(256 * 1024)
      .meta({ description: "Largest code (run_code) or command text a call may carry, bytes." }),
    maxOutputBytes: z
      .int()
      .min(1)
      .max(64 * mebibyte)
      .default(mebibyte)
      .meta({
        description: "Output kept per stream (stdout, stderr) per call, bytes; more sets `truncated`.",
      }),
    maxFileBytes: z
      .int()
      .min(1)
      .max(256 * mebibyte)
      .default(8 * mebibyte)
      .meta({ description: "Largest file sandbox_write_file accepts and sandbox_read_file returns, bytes." }),
    defaultTimeoutMs: z
      .int()
      .min(1)
      .max(2_147_483_647)
      .default(30_000)
      .meta({ description: "Command timeout when a call gives none, ms." }),
    maxTimeoutMs: z
      .int()
      .min(1)
      .max(2_147_483_647)
      .default(300_000)
      .meta({ description: "Largest command timeout a call may ask for, ms." }),
    createTimeoutMs: z.int().min(1).max(2_147_483_647).default(120_000).meta({
      description:
        "Time a call may spend creating and destroying its sandbox, ms, on top of its command timeout.",
    }),
    sandboxTtlMs: z.int().min(1000).max(2_147_483_647).default(3_600_000).meta({
      description:
        "Lifetime of a sandbox made by sandbox_create, ms: it is destroyed then, or when its session ends.",
    }),
    maxSandboxesPerSession: z
      .int()
      .min(1)
      .max(10_000)
      .default(16)
      .meta({ description: "Live sandboxes one session may hold through sandbox_create." }),
  })
  .meta({ description: "Per-call size and time limits of the tunnel daemon's tools." });

/** The resolved limits (defaults applied). */
export type TunnelLimits = z.output<typeof tunnelLimitsSchema>;

/** Loopback Streamable HTTP serving (`sandport serve --http`). */
export const tunnelHttpConfigSchema = z
  .strictObject({
    host: z
      .string()
      .min(1)
      .default("127.0.0.1")
      .meta({ description: "Address to bind; loopback unless `allowRemote` is true." }),
    port: z.int().min(0).max(65_535).default(7411).meta({ description: "Port to bind; 0 picks a free one." }),
    path: z.string().startsWith("/").default("/mcp").meta({ description: "Path of the MCP endpoint." }),
    token: z.string().min(1).meta({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a sandport.json secret reference, not a template.
      description: "Bearer token clients must send; an ${env:NAME} or ${file:PATH} reference recommended.",
    }),
    allowedOrigins: z.array(z.string().min(1)).default([]).meta({
      description:
        "Browser origins allowed (e.g. `http://localhost:5173`); a request with any other Origin is refused.",
    }),
    allowRemote: z
      .boolean()
      .default(false)
      .meta({ description: "Allow binding a non-loopback address (put TLS in front of it)." }),
  })
  .meta({ description: "Streamable HTTP serving, bound to loopback by default." });

/** The outbound tunnel to a gateway (`sandport tunnel`). */
export const tunnelGatewayConfigSchema = z
  .strictObject({
    url: z.url({ protocol: /^wss?$/ }).meta({
      description:
        "Gateway's daemon endpoint, e.g. `wss://gateway.example.com/tunnel` (`ws://` only to loopback).",
    }),
    daemonId: z
      .string()
      .regex(daemonIdPattern)
      .meta({ description: "This daemon's id; clients reach it at `/mcp/<daemonId>` on the gateway." }),
    token: z.string().min(1).meta({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a sandport.json secret reference, not a template.
      description: "Daemon token the gateway expects; an ${env:NAME} or ${file:PATH} reference recommended.",
    }),
    heartbeatMs: z
      .int()
      .min(100)
      .max(600_000)
      .default(15_000)
      .meta({ description: "Ping interval, ms; a link silent for two intervals is dropped and redialled." }),
    maxFrameBytes: z
      .int()
      .min(1024)
      .max(64 * mebibyte)
      .default(8 * mebibyte)
      .meta({ description: "Largest frame accepted from the gateway, bytes." }),
    reconnectBaseMs: z.int().min(1).default(1000).meta({ description: "Backoff base, ms (full jitter)." }),
    reconnectCapMs: z.int().min(1).default(30_000).meta({ description: "Backoff cap, ms." }),
    healthyAfterMs: z
      .int()
      .min(0)
      .default(30_000)
      .meta({ description: "A connection up this long resets the backoff, ms." }),
  })
  .meta({ description: "Outbound-only WebSocket tunnel to a gateway; the daemon never listens for it." });

/** The `tunnel` section of `sandport.json`. */
export const tunnelConfigSchema = z
  .strictObject({
    provider: z.string().min(1).default("auto").meta({
      description: 'Provider every call goes to: a name from `providers`, or "auto" for the router.',
    }),
    tenant: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .meta({ description: "Tenant label put on every sandbox and audit record." }),
    tools: z
      .array(z.enum(sandboxToolNames))
      .min(1)
      .optional()
      .meta({ description: "Tools to expose (default: all the provider supports)." }),
    limits: tunnelLimitsSchema.prefault({}),
    audit: z
      .strictObject({
        path: z.string().min(1).meta({ description: "File the audit log (JSON lines) is appended to." }),
      })
      .optional()
      .meta({
        description:
          "Audit log: time, tool, provider, sandbox id, duration, exit code, error code; never code or secrets.",
      }),
    http: tunnelHttpConfigSchema.optional(),
    gateway: tunnelGatewayConfigSchema.optional(),
    shutdownGraceMs: z
      .int()
      .min(0)
      .max(2_147_483_647)
      .default(30_000)
      .meta({ description: "On SIGTERM, time in-flight calls get to finish before they are cancelled, ms." }),
  })
  .meta({
    description: "The tunnel daemon: MCP sandbox tools over stdio, loopback HTTP and an outbound tunnel.",
  });

/** The `tunnel` section as written (defaults optional). */
export type TunnelConfigInput = z.input<typeof tunnelConfigSchema>;
/** The `tunnel` section with defaults applied. */
export type TunnelConfig = z.output<typeof tunnelConfigSchema>;

/** One daemon the gateway accepts. */
export const gatewayDaemonSchema = z.strictObject({
  daemonToken: z.string().min(1).meta({ description: "Token the daemon dials in with." }),
  clientToken: z.string().min(1).meta({ description: "Bearer token MCP clients of `/mcp/<id>` must send." }),
});

/** The `gateway` section of `sandport.json` (`sandport gateway`). */
export const gatewayConfigSchema = z
  .strictObject({
    host: z.string().min(1).default("127.0.0.1").meta({ description: "Address to bind." }),
    port: z.int().min(0).max(65_535).default(7420).meta({ description: "Port to bind; 0 picks a free one." }),
    daemons: z
      .record(z.string().regex(daemonIdPattern), gatewayDaemonSchema)
      .meta({ description: "Daemons by id, each with its daemon token and its client token." }),
    allowedOrigins: z
      .array(z.string().min(1))
      .default([])
      .meta({ description: "Browser origins allowed to call `/mcp/<id>`; any other Origin is refused." }),
    maxRequestBytes: z
      .int()
      .min(1024)
      .max(64 * mebibyte)
      .default(4 * mebibyte)
      .meta({ description: "Largest MCP request body accepted from a client, bytes." }),
    maxFrameBytes: z
      .int()
      .min(1024)
      .max(64 * mebibyte)
      .default(16 * mebibyte)
      .meta({ description: "Largest frame accepted from a daemon, bytes." }),
    heartbeatMs: z
      .int()
      .min(100)
      .max(600_000)
      .default(15_000)
      .meta({ description: "Ping interval towards daemons, ms." }),
  })
  .meta({ description: "The reference gateway: daemons dial in, MCP clients call `/mcp/<daemon-id>`." });

/** The `gateway` section with defaults applied. */
export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
/** The `gateway` section as written. */
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
