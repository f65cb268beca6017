/**
 * What each sandbox tool does, given the provider the config selected and the calling session.
 * Every sandbox a tool creates carries labels naming the tool and the tenant; one-shot tools
 * (`run_code`, `exec`) destroy theirs before they answer, whatever happened.
 */
import {
  type Command,
  codeCommand,
  createSandbox,
  type ExecResult,
  InvalidRequestError,
  OutputLimitError,
  type ProviderCapabilities,
  type Sandbox,
  type SandboxProvider,
  UnsupportedCapabilityError,
} from "@sandport/core";
import { servingProviderId } from "@sandport/router";
import type * as z from "zod";
import type { AuditRecord } from "./audit-log.ts";
import type { DaemonLogger } from "./daemon-log.ts";
import { errorMessage } from "./daemon-log.ts";
import type { SandboxToolSchemas } from "./sandbox-tool-schemas.ts";
import type { SessionSandboxes } from "./session-sandboxes.ts";
import type { SandboxToolName, TunnelLimits } from "./tunnel-config.ts";

/** What one tool call can use. */
export interface ToolCallContext {
  provider: SandboxProvider;
  limits: TunnelLimits;
  session: SessionSandboxes;
  /** Labels every sandbox created by this call carries. */
  labels: Readonly<Record<string, string>>;
  signal: AbortSignal;
  /** Filled by the tool: what the audit record says about the call. */
  audit: Partial<AuditRecord>;
  logger: DaemonLogger;
  /** Configured provider name ("auto" for the router) and the providers `providers` describes. */
  selectedProvider: string;
  describeProviders: () => Promise<SandboxProvider[]>;
}

type Input<Name extends SandboxToolName> = z.output<SandboxToolSchemas[Name]["input"]>;
type Output<Name extends SandboxToolName> = z.input<SandboxToolSchemas[Name]["output"]>;

/** One tool's behaviour. */
export type ToolRun<Name extends SandboxToolName> = (
  input: Input<Name>,
  context: ToolCallContext,
) => Promise<Output<Name>>;

function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

function checkSize(field: string, bytes: number, limit: number, setting: string): void {
  if (bytes > limit) {
    throw new OutputLimitError(
      `${field}: ${bytes} bytes is over the limit of ${limit} bytes (limits.${setting})`,
    );
  }
}

function resultOutput(result: ExecResult, sandbox: Sandbox, providerId: string, context: ToolCallContext) {
  context.audit.exitCode = result.exitCode;
  context.audit.timedOut = result.timedOut;
  context.audit.truncated = result.truncated;
  return {
    exitCode: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    truncated: result.truncated,
    timedOut: result.timedOut,
    durationMs: result.durationMs,
    ...(result.value === undefined ? {} : { value: result.value }),
    providerId,
    sandboxId: sandbox.id,
  };
}

function toCommand(command: string | readonly string[], limits: TunnelLimits): Command {
  const text = typeof command === "string" ? command : command.join(" ");
  checkSize("command", byteLength(text), limits.maxCodeBytes, "maxCodeBytes");
  return typeof command === "string" ? { shell: command } : command;
}

/**
 * Creates a one-shot sandbox, runs `work` in it and destroys it, also when `work` throws or the
 * call is aborted (the destroy takes no signal: it must run after an abort).
 */
async function withOneShotSandbox<Result>(
  context: ToolCallContext,
  runtime: "shell" | "python" | "javascript" | "typescript",
  timeoutMs: number,
  work: (sandbox: Sandbox, providerId: string) => Promise<Result>,
): Promise<Result> {
  const sandbox = await createSandbox(
    context.provider,
    { runtime, ttlMs: timeoutMs + context.limits.createTimeoutMs, labels: context.labels },
    { signal: context.signal },
  );
  const providerId = servingProviderId(context.provider, sandbox.id);
  context.audit.sandboxId = sandbox.id;
  context.audit.provider = providerId;
  try {
    return await work(sandbox, providerId);
  } finally {
    await sandbox.destroy().catch((error: unknown) => {
      context.logger({
        level: "warn",
        event: "sandbox-destroy-failed",
        sandboxId: sandbox.id,
        message: errorMessage(error),
      });
    });
  }
}

function heldSandbox(context: ToolCallContext, sandboxId: string) {
  const held = context.session.get(sandboxId);
  context.audit.sandboxId = sandboxId;
  context.audit.provider = held.providerId;
  return held;
}

function describeCapabilities(providerId: string, capabilities: ProviderCapabilities) {
  return {
    providerId,
    runtimes: [...capabilities.runtimes],
    isolation: capabilities.isolation,
    residency: capabilities.residency,
    ports: capabilities.features.ports,
    filesystem: capabilities.features.filesystem,
  };
}

const runCode: ToolRun<"run_code"> = async (input, context) => {
  checkSize("code", byteLength(input.code), context.limits.maxCodeBytes, "maxCodeBytes");
  const timeoutMs = input.timeoutMs ?? context.limits.defaultTimeoutMs;
  return withOneShotSandbox(context, input.language, timeoutMs, async (sandbox, providerId) => {
    const options = {
      language: input.language,
      timeoutMs,
      maxOutputBytes: context.limits.maxOutputBytes,
      signal: context.signal,
      ...(input.stdin === undefined ? {} : { stdin: input.stdin }),
      ...(input.env === undefined ? {} : { env: input.env }),
    };
    const result = sandbox.runCode
      ? await sandbox.runCode(input.code, options)
      : await sandbox.exec(codeCommand(input.language, input.code), options);
    return resultOutput(result, sandbox, providerId, context);
  });
};

const exec: ToolRun<"exec"> = async (input, context) => {
  const command = toCommand(input.command, context.limits);
  const timeoutMs = input.timeoutMs ?? context.limits.defaultTimeoutMs;
  return withOneShotSandbox(context, input.runtime ?? "shell", timeoutMs, async (sandbox, providerId) => {
    const result = await sandbox.exec(command, {
      timeoutMs,
      maxOutputBytes: context.limits.maxOutputBytes,
      signal: context.signal,
      ...(input.stdin === undefined ? {} : { stdin: input.stdin }),
      ...(input.env === undefined ? {} : { env: input.env }),
    });
    return resultOutput(result, sandbox, providerId, context);
  });
};

const sandboxCreate: ToolRun<"sandbox_create"> = async (input, context) => {
  const release = context.session.reserve();
  let sandbox: Sandbox;
  try {
    sandbox = await createSandbox(
      context.provider,
      {
        ...(input.runtime === undefined ? {} : { runtime: input.runtime }),
        ...(input.env === undefined ? {} : { env: input.env }),
        ttlMs: input.ttlMs ?? context.limits.sandboxTtlMs,
        labels: context.labels,
      },
      { signal: context.signal },
    );
  } catch (error) {
    release();
    throw error;
  }
  const providerId = servingProviderId(context.provider, sandbox.id);
  context.audit.sandboxId = sandbox.id;
  context.audit.provider = providerId;
  const expiresAt = context.session.adopt(sandbox, providerId, release, input.ttlMs);
  return { sandboxId: sandbox.id, providerId, expiresAt: new Date(expiresAt).toISOString() };
};

const sandboxExec: ToolRun<"sandbox_exec"> = async (input, context) => {
  const { sandbox, providerId } = heldSandbox(context, input.sandboxId);
  const command = toCommand(input.command, context.limits);
  const result = await sandbox.exec(command, {
    timeoutMs: input.timeoutMs ?? context.limits.defaultTimeoutMs,
    maxOutputBytes: context.limits.maxOutputBytes,
    signal: context.signal,
    ...(input.cwd === undefined ? {} : { cwd: input.cwd }),
    ...(input.stdin === undefined ? {} : { stdin: input.stdin }),
    ...(input.env === undefined ? {} : { env: input.env }),
  });
  return resultOutput(result, sandbox, providerId, context);
};

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

const sandboxWriteFile: ToolRun<"sandbox_write_file"> = async (input, context) => {
  const { sandbox } = heldSandbox(context, input.sandboxId);
  if (input.encoding === "base64" && !base64Pattern.test(input.content)) {
    throw new InvalidRequestError("content: not valid base64");
  }
  const data =
    input.encoding === "base64" ? Buffer.from(input.content, "base64") : Buffer.from(input.content, "utf8");
  checkSize("content", data.byteLength, context.limits.maxFileBytes, "maxFileBytes");
  await sandbox.writeFile(input.path, data, { signal: context.signal });
  return { path: input.path, bytes: data.byteLength };
};

const sandboxReadFile: ToolRun<"sandbox_read_file"> = async (input, context) => {
  const { sandbox } = heldSandbox(context, input.sandboxId);
  // Stat first, so a huge file is refused without being read into the daemon.
  const info = await sandbox.statFile(input.path, { signal: context.signal });
  checkSize("path", info.size, context.limits.maxFileBytes, "maxFileBytes");
  const data = await sandbox.readFile(input.path, { signal: context.signal });
  checkSize("path", data.byteLength, context.limits.maxFileBytes, "maxFileBytes");
  if (input.encoding === "base64") {
    return {
      path: input.path,
      content: Buffer.from(data).toString("base64"),
      encoding: "base64" as const,
      bytes: data.byteLength,
    };
  }
  let content: string;
  try {
    content = new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    throw new InvalidRequestError(`path: ${input.path} is not UTF-8 text; read it with encoding "base64"`);
  }
  return { path: input.path, content, encoding: "utf8" as const, bytes: data.byteLength };
};

const sandboxDestroy: ToolRun<"sandbox_destroy"> = async (input, context) => {
  heldSandbox(context, input.sandboxId);
  await context.session.destroy(input.sandboxId);
  return { sandboxId: input.sandboxId, destroyed: true };
};

const maxListedEntries = 1000;

const sandboxListFiles: ToolRun<"sandbox_list_files"> = async (input, context) => {
  const { sandbox } = heldSandbox(context, input.sandboxId);
  const entries = await sandbox.listFiles(input.path, {
    recursive: input.recursive,
    maxEntries: maxListedEntries,
    signal: context.signal,
  });
  return {
    entries: entries.map((entry) => ({
      name: entry.name,
      path: entry.path,
      type: entry.type,
      size: entry.size,
      modifiedAt: entry.modifiedAt.toISOString(),
    })),
  };
};

const sandboxExposePort: ToolRun<"sandbox_expose_port"> = async (input, context) => {
  const { sandbox, providerId } = heldSandbox(context, input.sandboxId);
  if (sandbox.exposePort === undefined) {
    throw new UnsupportedCapabilityError(`provider ${providerId} cannot expose ports`, { providerId });
  }
  const exposed = await sandbox.exposePort(input.port, { signal: context.signal });
  return { url: exposed.url, ...(exposed.headers === undefined ? {} : { headers: { ...exposed.headers } }) };
};

const providers: ToolRun<"providers"> = async (_input, context) => {
  const described = await context.describeProviders();
  return {
    selected: context.selectedProvider,
    providers: described.map((provider) => describeCapabilities(provider.providerId, provider.capabilities)),
  };
};

/** Every tool's behaviour, by name. */
export const sandboxToolRuns: { [Name in SandboxToolName]: ToolRun<Name> } = {
  run_code: runCode,
  exec,
  sandbox_create: sandboxCreate,
  sandbox_exec: sandboxExec,
  sandbox_write_file: sandboxWriteFile,
  sandbox_read_file: sandboxReadFile,
  sandbox_destroy: sandboxDestroy,
  sandbox_list_files: sandboxListFiles,
  sandbox_expose_port: sandboxExposePort,
  providers,
};

/** One-line descriptions shown in `tools/list`. */
export const sandboxToolDescriptions: { [Name in SandboxToolName]: string } = {
  run_code:
    "Run a snippet of code in a fresh sandbox that is destroyed afterwards; returns its output and exit code.",
  exec: "Run one command in a fresh sandbox that is destroyed afterwards; returns its output and exit code.",
  sandbox_create: "Create a sandbox that lives until sandbox_destroy, the end of this session, or its ttl.",
  sandbox_exec: "Run a command in a sandbox made by sandbox_create.",
  sandbox_write_file: "Write a file into a sandbox made by sandbox_create.",
  sandbox_read_file: "Read a file from a sandbox made by sandbox_create.",
  sandbox_destroy: "Destroy a sandbox made by sandbox_create.",
  sandbox_list_files: "List a directory of a sandbox made by sandbox_create.",
  sandbox_expose_port: "Make a TCP port inside a sandbox reachable; returns its URL.",
  providers: "Describe the sandbox provider(s) this server uses and what they can do.",
};

/** Text for the MCP `content` of a result (structured output carries the full data). */
export function resultText(output: unknown): string {
  if (typeof output === "object" && output !== null && "exitCode" in output && "stdout" in output) {
    const result = output as {
      exitCode: number;
      stdout: string;
      stderr: string;
      truncated: boolean;
      timedOut: boolean;
    };
    const parts = [result.stdout];
    if (result.stderr !== "") parts.push(`[stderr]\n${result.stderr}`);
    const notes = [`exit code ${result.exitCode}`];
    if (result.timedOut) notes.push("timed out");
    if (result.truncated) notes.push("output truncated");
    parts.push(`[${notes.join(", ")}]`);
    return parts.join("\n");
  }
  return JSON.stringify(output);
}
