/**
 * Input and output schemas of the sandbox tools, built from the configured limits so that
 * `tools/list` advertises the same bounds the calls enforce (`maxLength`, `maximum`).
 */
import * as z from "zod";
import type { TunnelLimits } from "./tunnel-config.ts";

const sandboxId = z.string().min(1).max(512).describe("Id returned by sandbox_create.");
const environment = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().max(32_768))
  .describe("Extra environment variables for the command.");
const path = z.string().min(1).max(4096);

/** The schemas of every tool for the given limits. */
export function sandboxToolSchemas(limits: TunnelLimits) {
  const timeoutMs = z
    .int()
    .min(1)
    .max(limits.maxTimeoutMs)
    .optional()
    .describe(`Command timeout, ms (default ${limits.defaultTimeoutMs}).`);
  const stdin = z.string().max(limits.maxCodeBytes).optional().describe("Text written to standard input.");
  const command = z
    .union([
      z.array(z.string().max(limits.maxCodeBytes)).min(1).max(4096).describe("argv, run without a shell"),
      z.string().min(1).max(limits.maxCodeBytes).describe("a shell command line, run by sh -c"),
    ])
    .describe("The command: an argv array (no shell), or a string run by sh -c.");
  const execResult = z.object({
    exitCode: z.int().describe("Exit status; 128 + n when killed by signal n."),
    stdout: z.string(),
    stderr: z.string(),
    truncated: z.boolean().describe(`Output was cut at ${limits.maxOutputBytes} bytes per stream.`),
    timedOut: z.boolean(),
    durationMs: z.number(),
    value: z
      .unknown()
      .optional()
      .describe("The value a JavaScript or TypeScript snippet returned, where the runtime has one."),
    providerId: z.string(),
    sandboxId: z.string(),
  });
  const fileEntry = z.object({
    name: z.string(),
    path: z.string(),
    type: z.enum(["file", "directory", "symlink", "other"]),
    size: z.number(),
    modifiedAt: z.string(),
  });

  return {
    run_code: {
      input: z.strictObject({
        language: z.enum(["python", "javascript", "typescript", "shell"]).describe("Language of the code."),
        code: z
          .string()
          .min(1)
          .max(limits.maxCodeBytes)
          .describe(`Source code, at most ${limits.maxCodeBytes} bytes.`),
        timeoutMs,
        stdin,
        env: environment.optional(),
      }),
      output: execResult,
    },
    exec: {
      input: z.strictObject({
        command,
        runtime: z
          .enum(["shell", "python", "javascript", "typescript"])
          .optional()
          .describe("Runtime the sandbox must offer (default shell)."),
        timeoutMs,
        stdin,
        env: environment.optional(),
      }),
      output: execResult,
    },
    sandbox_create: {
      input: z.strictObject({
        runtime: z.enum(["shell", "python", "javascript", "typescript"]).optional(),
        env: environment.optional().describe("Environment variables for every command in the sandbox."),
        ttlMs: z
          .int()
          .min(1000)
          .max(limits.sandboxTtlMs)
          .optional()
          .describe(`Lifetime, ms (default and maximum ${limits.sandboxTtlMs}).`),
      }),
      output: z.object({ sandboxId: z.string(), providerId: z.string(), expiresAt: z.string() }),
    },
    sandbox_exec: {
      input: z.strictObject({
        sandboxId,
        command,
        cwd: path.optional().describe("Working directory (default the workspace)."),
        timeoutMs,
        stdin,
        env: environment.optional(),
      }),
      output: execResult,
    },
    sandbox_write_file: {
      input: z.strictObject({
        sandboxId,
        path: path.describe("File path, relative to the workspace or absolute inside the sandbox."),
        content: z
          .string()
          .max(Math.ceil((limits.maxFileBytes * 4) / 3) + 4)
          .describe(`File content, at most ${limits.maxFileBytes} bytes once decoded.`),
        encoding: z.enum(["utf8", "base64"]).default("utf8"),
      }),
      output: z.object({ path: z.string(), bytes: z.int() }),
    },
    sandbox_read_file: {
      input: z.strictObject({
        sandboxId,
        path,
        encoding: z.enum(["utf8", "base64"]).default("utf8"),
      }),
      output: z.object({
        path: z.string(),
        content: z.string(),
        encoding: z.enum(["utf8", "base64"]),
        bytes: z.int(),
      }),
    },
    sandbox_destroy: {
      input: z.strictObject({ sandboxId }),
      output: z.object({ sandboxId: z.string(), destroyed: z.boolean() }),
    },
    sandbox_list_files: {
      input: z.strictObject({
        sandboxId,
        path: path.default("."),
        recursive: z.boolean().default(false),
      }),
      output: z.object({ entries: z.array(fileEntry) }),
    },
    sandbox_expose_port: {
      input: z.strictObject({ sandboxId, port: z.int().min(1).max(65_535) }),
      output: z.object({ url: z.string(), headers: z.record(z.string(), z.string()).optional() }),
    },
    providers: {
      input: z.strictObject({}),
      output: z.object({
        selected: z.string().describe('The configured provider name, or "auto" for the router.'),
        providers: z.array(
          z.object({
            providerId: z.string(),
            runtimes: z.array(z.string()),
            isolation: z.string(),
            residency: z.string(),
            ports: z.boolean(),
            filesystem: z.boolean(),
          }),
        ),
      }),
    },
  } as const;
}

/** The schemas of every tool. */
export type SandboxToolSchemas = ReturnType<typeof sandboxToolSchemas>;
