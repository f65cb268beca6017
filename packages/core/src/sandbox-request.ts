/** The normalized request and result types, and the zod schemas that validate them. */
import * as z from "zod";
import { type Runtime, runtimes } from "./capabilities.ts";
import { InvalidRequestError } from "./errors.ts";

/** Network egress: nothing, everything, or only the listed domains / CIDR ranges. */
export type NetworkEgress = "none" | "open" | { allow: readonly string[] };

/** Requested resources, in normalized units (vCPU, MiB). */
export interface ResourceRequest {
  /** vCPUs (fractions allowed). */
  cpu?: number;
  /** Memory, MiB. */
  memoryMb?: number;
  /** Disk, MiB. */
  diskMb?: number;
  /** GPUs: a vendor type name such as `"A100"` and a count. */
  gpu?: { type: string; count: number };
}

/** What to create. Every field is honoured or the request fails; nothing is silently dropped. */
export interface CreateSandboxRequest {
  /** The main runtime the sandbox must offer. */
  runtime?: Runtime;
  /** A container image, where the provider supports images. */
  image?: string;
  resources?: ResourceRequest;
  /** Sandbox lifetime, ms. Forwarded to the vendor's own auto-stop so a crash never leaks a sandbox. */
  ttlMs?: number;
  /** Environment variables for every command in the sandbox. */
  env?: Readonly<Record<string, string>>;
  network?: { egress: NetworkEgress };
  /** Region name from the provider's declared `regions`. */
  region?: string;
  /** Free-form labels, kept by the vendor where possible (used to find and reap sandboxes). */
  labels?: Readonly<Record<string, string>>;
  /** Provider-specific options keyed by provider instance name, validated by that adapter. */
  providerOptions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** Options every call takes. */
export interface CallOptions {
  /** Aborts the call; a sandbox created after the abort is destroyed. */
  signal?: AbortSignal;
}

/** A command: an argv array (no shell involved) or a shell string run by `sh -c`. */
export type Command = readonly string[] | { shell: string };

/** Options of one command. */
export interface ExecOptions extends CallOptions {
  /** Working directory inside the sandbox (default: the sandbox's workspace). */
  cwd?: string;
  /** Extra environment variables for this command, over the sandbox's. */
  env?: Readonly<Record<string, string>>;
  /** Per-command timeout, ms: the command and its children are killed and `timedOut` is set. */
  timeoutMs?: number;
  /** Data written to the command's standard input, which is then closed. */
  stdin?: string | Uint8Array;
  /** Receives stdout text as it arrives, in order, before the result resolves. */
  onStdout?: (chunk: string) => void;
  /** Receives stderr text as it arrives, in order, before the result resolves. */
  onStderr?: (chunk: string) => void;
  /** At most this many bytes of each of stdout and stderr are kept; more sets `truncated`. */
  maxOutputBytes?: number;
}

/** The outcome of a command that ran. A non-zero exit code is a result, not an error. */
export interface ExecResult {
  /** Exit status; 128 + signal number when the command was killed by a signal. */
  exitCode: number;
  stdout: string;
  /** Empty when the provider cannot separate streams (see `features.separateStderr`). */
  stderr: string;
  /**
   * stdout and stderr interleaved in the order they arrived, where the provider keeps that order
   * (`features.combinedOutput`); capped like each stream.
   */
  output?: string;
  /**
   * The kept bytes of stdout, exactly as the command wrote them (`stdout` decodes them as UTF-8,
   * replacing invalid sequences), where the provider has them.
   */
  stdoutBytes?: Uint8Array;
  /** The kept bytes of stderr, as for `stdoutBytes`. */
  stderrBytes?: Uint8Array;
  /** Output was cut at `maxOutputBytes`. */
  truncated: boolean;
  /** The command was killed at its `timeoutMs`. */
  timedOut: boolean;
  /** Wall-clock duration of the command, ms. */
  durationMs: number;
  /**
   * The result value of `runCode`, where the runtime has one (a JavaScript isolate: what a script
   * returned or a module default-exported), decoded from JSON. Absent otherwise.
   */
  value?: unknown;
}

/** Options of `runCode`. */
export interface RunCodeOptions extends ExecOptions {
  /** The language of `code`. */
  language: Exclude<Runtime, "shell"> | "shell";
}

/**
 * Options of `spawn`. Without `stdin` the process's standard input stays open for
 * {@link SandboxProcess.writeStdin} until {@link SandboxProcess.closeStdin}; with it, that data is
 * written and the input closed, as for `exec`.
 */
export interface SpawnOptions extends Omit<ExecOptions, "onStdout" | "onStderr"> {}

/** Signals a caller may send to a background process. */
export type ProcessSignal = "SIGTERM" | "SIGKILL" | "SIGINT" | "SIGHUP" | "SIGQUIT" | "SIGUSR1" | "SIGUSR2";

/** A background process started with `spawn`. */
export interface SandboxProcess {
  /** stdout text chunks in order; ends when the process ends. */
  readonly stdout: AsyncIterable<string>;
  /** stderr text chunks in order; ends when the process ends. */
  readonly stderr: AsyncIterable<string>;
  /** Resolves with the result once the process has ended (`exitCode` 128+n when a signal ended it). */
  wait(): Promise<ExecResult>;
  /**
   * Sends `signal` (default `SIGKILL`) to the process and every process it started. Resolves once
   * sent; `wait()` tells when it ended. A process that already ended is not an error.
   */
  kill(signal?: ProcessSignal): Promise<void>;
  /** Writes to the process's standard input; `invalid_request` once the input is closed. */
  writeStdin(data: string | Uint8Array): Promise<void>;
  /** Closes standard input, so the process reads end of input. Idempotent. */
  closeStdin(): Promise<void>;
}

/** What a file call reports about one file or directory. */
export interface FileInfo {
  /** The last component of its path. */
  name: string;
  /** Its absolute path inside the sandbox. */
  path: string;
  /** A symbolic link is reported as one, never followed. */
  type: "file" | "directory" | "symlink" | "other";
  /** Size in bytes (of the link itself for a symlink; providers may report 0 for directories). */
  size: number;
  /** Last modification time. */
  modifiedAt: Date;
}

/** Options of `listFiles`. */
export interface ListFilesOptions extends CallOptions {
  /** Also list what the subdirectories hold (links are not followed). Default false. */
  recursive?: boolean;
  /** At most this many entries (default 10,000); more is `OutputLimitError`. */
  maxEntries?: number;
}

/** Options of `makeDirectory`. */
export interface MakeDirectoryOptions extends CallOptions {
  /** Create missing parents, and accept a directory that already exists. Default false. */
  recursive?: boolean;
}

/** Options of `removeFile`. */
export interface RemoveFileOptions extends CallOptions {
  /** Remove a directory with everything in it. Default false: a non-empty directory is refused. */
  recursive?: boolean;
}

/** How to reach a port inside the sandbox. */
export interface ExposedPort {
  /** A URL that reaches the port from where the caller runs, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Headers every request to `url` must carry (a token), when the provider needs any. */
  headers?: Readonly<Record<string, string>>;
}

/** Default of `ListFilesOptions.maxEntries`. */
export const defaultMaxListEntries = 10_000;

/** A filter for `list`. */
export interface ListFilter {
  /** Only sandboxes carrying all these labels. */
  labels?: Readonly<Record<string, string>>;
}

/** What `list` reports about a sandbox. */
export interface SandboxInfo {
  id: string;
  createdAt: Date;
  labels: Readonly<Record<string, string>>;
}

// ---- schemas ------------------------------------------------------------------------------------

const environmentSchema = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a valid environment variable name"),
  z.string().refine((value) => !value.includes("\0"), "must not contain NUL"),
);

/** zod schema of {@link CreateSandboxRequest}; strict, so an unknown key is an error, not ignored. */
export const createSandboxRequestSchema = z.strictObject({
  runtime: z.enum(runtimes).optional(),
  image: z.string().min(1).optional(),
  resources: z
    .strictObject({
      cpu: z.number().positive().optional(),
      memoryMb: z.number().int().positive().optional(),
      diskMb: z.number().int().positive().optional(),
      gpu: z.strictObject({ type: z.string().min(1), count: z.number().int().positive() }).optional(),
    })
    .optional(),
  ttlMs: z.number().int().positive().optional(),
  env: environmentSchema.optional(),
  network: z
    .strictObject({
      egress: z.union([
        z.literal("none"),
        z.literal("open"),
        z.strictObject({ allow: z.array(z.string().min(1)) }),
      ]),
    })
    .optional(),
  region: z.string().min(1).optional(),
  labels: z.record(z.string().min(1), z.string()).optional(),
  providerOptions: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});

const commandSchema = z.union([
  z.array(z.string().refine((value) => !value.includes("\0"), "must not contain NUL")).min(1),
  z.strictObject({ shell: z.string().min(1) }),
]);

/** zod schema of the data part of {@link ExecOptions} (callbacks and signal are checked by type only). */
export const execOptionsSchema = z.object({
  cwd: z.string().min(1).optional(),
  env: environmentSchema.optional(),
  timeoutMs: z.number().int().positive().optional(),
  stdin: z.union([z.string(), z.instanceof(Uint8Array)]).optional(),
  maxOutputBytes: z.number().int().nonnegative().optional(),
});

/** Formats zod issues as `path: message` so the error names the field. */
export function describeIssues(error: z.ZodError, prefix = ""): string {
  return error.issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter((part) => part !== "").join(".");
      return `${path || "(root)"}: ${issue.message}`;
    })
    .join("; ");
}

/** Validates a create request, throwing `InvalidRequestError` that names the field. */
export function parseCreateSandboxRequest(input: unknown): CreateSandboxRequest {
  const result = createSandboxRequestSchema.safeParse(input ?? {});
  if (!result.success) {
    throw new InvalidRequestError(`invalid sandbox request: ${describeIssues(result.error, "request")}`, {
      cause: result.error,
    });
  }
  return result.data;
}

/** Validates a command, throwing `InvalidRequestError` that names the field. */
export function parseCommand(input: unknown): Command {
  const result = commandSchema.safeParse(input);
  if (!result.success) {
    throw new InvalidRequestError(
      `invalid command (an argv array of strings or { shell }): ${describeIssues(result.error, "command")}`,
      { cause: result.error },
    );
  }
  return result.data;
}

const pathSchema = z
  .string()
  .min(1, "must be a non-empty path")
  .refine((value) => !value.includes("\0"), "must not contain NUL");

/** Validates a path argument of a file call, throwing `InvalidRequestError` that names `field`. */
export function parsePath(input: unknown, field = "path"): string {
  const result = pathSchema.safeParse(input);
  if (!result.success) {
    throw new InvalidRequestError(`invalid ${field}: ${describeIssues(result.error, field)}`, {
      cause: result.error,
    });
  }
  return result.data;
}

const fileCallOptionsSchema = z.object({
  recursive: z.boolean().optional(),
  maxEntries: z.number().int().positive().max(1_000_000).optional(),
});

/** Validates the options of `listFiles`, `makeDirectory` or `removeFile`, naming the field. */
export function parseFileCallOptions<
  Options extends ListFilesOptions | MakeDirectoryOptions | RemoveFileOptions,
>(input: Options | undefined): Options {
  if (input === undefined) return {} as Options;
  const result = fileCallOptionsSchema.safeParse(input);
  if (!result.success) {
    throw new InvalidRequestError(`invalid options: ${describeIssues(result.error, "options")}`, {
      cause: result.error,
    });
  }
  return input;
}

/** Validates exec options, throwing `InvalidRequestError` that names the field. */
export function parseExecOptions<Options extends ExecOptions>(input: Options | undefined): Options {
  if (input === undefined) return {} as Options;
  const result = execOptionsSchema.safeParse(input);
  if (!result.success) {
    throw new InvalidRequestError(`invalid exec options: ${describeIssues(result.error, "options")}`, {
      cause: result.error,
    });
  }
  return input;
}
