/**
 * What both modes do around a run: checking `runCode` options (refusing what an isolate cannot
 * honour), preparing the code, and turning the isolate Worker's answer into an `ExecResult`.
 */
import {
  defaultMaxOutputBytes,
  describeIssues,
  type ExecResult,
  execOptionsSchema,
  InvalidRequestError,
  ProviderUnavailableError,
  type RunCodeOptions,
  UnsupportedCapabilityError,
} from "@sandport/core";
import * as z from "zod";
import type { ResolvedIsolateSettings } from "./isolate-settings.ts";
import type { IsolateWorkerRunBody } from "./isolate-worker-protocol.ts";
import { checkRunOutput, envBounds, recordBoundsProblem } from "./isolate-worker-protocol.ts";
import { prepareCode } from "./prepare-code.ts";

/** A run ready for the isolate Worker, or the result to report without running (the code did not compile). */
export type PreparedRun = { body: IsolateWorkerRunBody } | { result: ExecResult };

/** Checks `options`, then prepares `code` for the isolate Worker. */
export async function prepareRun(
  code: string,
  options: RunCodeOptions,
  settings: ResolvedIsolateSettings,
): Promise<PreparedRun> {
  const providerId = settings.providerId;
  if (typeof code !== "string") throw new InvalidRequestError("code: must be a string", { providerId });
  const parsed = execOptionsSchema.safeParse(
    Object.fromEntries(Object.entries(options ?? {}).filter(([key]) => key !== "language")),
  );
  if (!parsed.success) throw new InvalidRequestError(describeIssues(parsed.error, "options"), { providerId });
  const { language } = options;
  if (language !== "javascript" && language !== "typescript") {
    throw new UnsupportedCapabilityError(
      `runCode language "${String(language)}": isolates run javascript and typescript only`,
      { providerId },
    );
  }
  if (options.stdin !== undefined) {
    throw new UnsupportedCapabilityError("runCode stdin: isolates have no standard input", { providerId });
  }
  if (options.cwd !== undefined) {
    throw new UnsupportedCapabilityError(
      "runCode cwd: code always runs in the workspace (use relative paths)",
      { providerId },
    );
  }
  const envProblem = recordBoundsProblem(options.env ?? {}, "env", envBounds);
  if (envProblem !== undefined) throw new InvalidRequestError(envProblem, { providerId });
  const timeoutMs = options.timeoutMs ?? settings.defaultTimeoutMs;
  if (timeoutMs > settings.maxTimeoutMs) {
    throw new UnsupportedCapabilityError(`timeoutMs ${timeoutMs} (max ${settings.maxTimeoutMs})`, {
      providerId,
    });
  }
  const codeBytes = Buffer.byteLength(code);
  if (codeBytes > settings.maxCodeBytes) {
    throw new InvalidRequestError(`code is ${codeBytes} bytes, over the limit of ${settings.maxCodeBytes}`, {
      providerId,
    });
  }
  const outcome = await prepareCode(code, language);
  if (!outcome.ok) {
    return {
      result: {
        exitCode: 1,
        stdout: "",
        stderr: `${outcome.message}\n`,
        output: `${outcome.message}\n`,
        truncated: false,
        timedOut: false,
        durationMs: 0,
      },
    };
  }
  return {
    body: {
      code: outcome.prepared.module,
      env: { ...options.env },
      timeoutMs,
      maxOutputBytes: options.maxOutputBytes ?? defaultMaxOutputBytes,
      filesystem: outcome.prepared.filesystem,
      process: outcome.prepared.process,
    },
  };
}

/** The isolate Worker's run result; only the fields this code reads are required. */
export const isolateWorkerRunResultSchema = z.object({
  exitCode: z.number().int(),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.boolean(),
  timedOut: z.boolean(),
  durationMs: z.number(),
  valueJson: z.string().nullish(),
  output: z.string().nullish(),
});

/** Parses an isolate Worker answer, refusing anything that is not one (an HTML error page, say). */
export function parseIsolateWorkerJson<T>(text: string, schema: z.ZodType<T>, providerId: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ProviderUnavailableError("the isolate Worker answered with something that is not JSON", {
      providerId,
      cause: error,
    });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new ProviderUnavailableError(
      `the isolate Worker's answer is malformed: ${describeIssues(parsed.error, "answer")}`,
      {
        providerId,
        cause: parsed.error,
      },
    );
  }
  return parsed.data;
}

/** The `ExecResult` of an isolate Worker run; output goes to the callbacks once, as the run ended. */
export function execResultOf(
  answer: z.infer<typeof isolateWorkerRunResultSchema>,
  options: RunCodeOptions,
  providerId: string,
): ExecResult {
  // Checked again here, not trusted: every text and the value within the run's own cap.
  const checked = checkRunOutput(answer, options.maxOutputBytes ?? defaultMaxOutputBytes);
  if (checked === undefined) {
    throw new ProviderUnavailableError("the isolate Worker's answer is malformed", { providerId });
  }
  const result = { ...checked, timedOut: answer.timedOut, durationMs: answer.durationMs };
  if (result.stdout !== "") options.onStdout?.(result.stdout);
  if (result.stderr !== "") options.onStderr?.(result.stderr);
  // An isolate Worker deployed before it kept the combined output leaves it out; with one stream empty it
  // is still known.
  const output =
    result.output ??
    (result.stderr === "" ? result.stdout : result.stdout === "" ? result.stderr : undefined);
  const execResult: ExecResult = {
    exitCode: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    ...(output === undefined ? {} : { output }),
    truncated: result.truncated,
    timedOut: result.timedOut,
    durationMs: result.durationMs,
  };
  if (typeof result.valueJson === "string") {
    execResult.value = parseIsolateWorkerJson(result.valueJson, z.unknown(), providerId);
  }
  return execResult;
}
