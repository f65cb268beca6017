/**
 * What travels in one call of sandport's runner (`runner/sandport_runner.py`), and how its failures
 * map to sandport errors. The SDK encodes the input as CBOR (`[args, kwargs]`, one positional
 * argument: the request) and decodes the reply from CBOR, so keys are the runner's snake_case.
 */
import {
  ConfigInvalidError,
  NotFoundError,
  ProviderUnavailableError,
  SandboxFailedError,
  type SandportError,
  TimeoutError,
} from "@sandport/core";
import * as z from "zod";
import type { RunnerEntry } from "./function-workspace.ts";
import { errorFromGrpcStatus, errorFromModal, type FailureContext, grpcStatusOf } from "./modal-errors.ts";
import type { ModalFunctionSdk } from "./modal-function-settings.ts";

/** The request/reply protocol version both sides speak (`PROTOCOL` in the runner). */
export const runnerProtocol = 1;

/** The SDK's handle of the deployed runner (or a variant bound to per-call options). */
export type ModalRunnerFunction = Awaited<
  ReturnType<InstanceType<typeof import("modal").ModalClient>["functions"]["fromName"]>
>;

/** One request to the runner. */
export interface RunnerRequest {
  protocol: number;
  /** argv, run without a shell. */
  command?: string[];
  /** Or code in a language. */
  language?: string;
  code?: string;
  /** Absolute working directory in the container. */
  cwd: string;
  env: Record<string, string>;
  /** The sandbox's files, directories and links, relative to /workspace. */
  entries: RunnerEntry[];
  stdin?: Uint8Array;
  timeout_ms?: number;
  /** Bytes kept of each of stdout and stderr. */
  max_output_bytes: number;
}

const bytes = z.custom<Uint8Array>((value) => value instanceof Uint8Array, "bytes");

/** The runner's reply: only the fields used, each tolerant of absence. */
const runnerReplySchema = z.object({
  protocol: z.number(),
  runner: z.string().nullish(),
  status: z.string(),
  message: z.string().nullish(),
  exit_code: z.number().int().nullish(),
  stdout: bytes.nullish(),
  stderr: bytes.nullish(),
  truncated: z.boolean().nullish(),
  timed_out: z.boolean().nullish(),
  duration_ms: z.number().nullish(),
  entries: z
    .array(
      z.object({
        path: z.string(),
        kind: z.string(),
        mode: z.number().int().nullish(),
        changed: z.boolean().nullish(),
        data: bytes.nullish(),
        target: z.string().nullish(),
      }),
    )
    .nullish(),
});

/** The runner's reply, checked. */
export type RunnerReply = z.infer<typeof runnerReplySchema>;

/** Where the runner's source is, for messages: the file shipped in this package. */
export function runnerSourcePath(): string {
  try {
    return decodeURIComponent(new URL("../runner/sandport_runner.py", import.meta.url).pathname);
  } catch {
    return "node_modules/@sandport/modal/runner/sandport_runner.py";
  }
}

/** The one-line deploy instruction, for messages and the README. */
export function runnerDeployCommand(environment: string | undefined): string {
  return `modal deploy${environment === undefined ? "" : ` --env ${environment}`} ${runnerSourcePath()}`;
}

/** Checks a reply; one from a runner of another protocol is a deployment to update. */
export function parseRunnerReply(
  value: unknown,
  providerId: string,
  environment: string | undefined,
): RunnerReply {
  const protocol = (value as { protocol?: unknown } | null)?.protocol;
  if (protocol !== runnerProtocol) {
    throw new ConfigInvalidError(
      `the deployed runner speaks protocol ${String(protocol)}, this provider ${runnerProtocol}: redeploy it with \`${runnerDeployCommand(environment)}\``,
      { providerId },
    );
  }
  const result = runnerReplySchema.safeParse(value);
  if (!result.success) {
    throw new SandboxFailedError("the runner's reply is malformed", { cause: result.error, providerId });
  }
  return result.data;
}

/** Where the runner is looked up, for messages. */
export interface RunnerLocation {
  appName: string;
  functionName: string;
  environment: string | undefined;
}

/** A failed lookup of the runner: NOT_FOUND says how to deploy it. */
export function errorFromRunnerLookup(
  error: unknown,
  sdk: ModalFunctionSdk,
  context: FailureContext,
  location: RunnerLocation,
): SandportError {
  if (grpcStatusOf(error) === 5 || error instanceof sdk.NotFoundError) {
    const where = `function "${location.functionName}" of Modal app "${location.appName}"${
      location.environment === undefined ? "" : ` in environment "${location.environment}"`
    }`;
    return new NotFoundError(
      `sandport's runner is not deployed (no ${where}): deploy it once with \`${runnerDeployCommand(location.environment)}\`, or set providers.${context.providerId}.appName and functionName to where it is`,
      { cause: error, providerId: context.providerId },
    );
  }
  return errorFromModal(error, sdk, context);
}

/** A failed call of the runner. */
export function errorFromRunnerCall(
  error: unknown,
  sdk: ModalFunctionSdk,
  context: FailureContext,
  environment: string | undefined,
): SandportError {
  const { providerId, operation } = context;
  const options = { cause: error, providerId };
  if (grpcStatusOf(error) !== undefined)
    return errorFromGrpcStatus(grpcStatusOf(error) as number, error, context);
  if (error instanceof sdk.FunctionTimeoutError) {
    return new TimeoutError(
      `${operation}: the call reached the function's timeout (the sandbox's ttlMs, or the deployment's timeout)`,
      options,
    );
  }
  if (error instanceof sdk.InternalFailure) {
    return new ProviderUnavailableError(
      `${operation}: Modal failed the call (after the SDK's own retries)`,
      options,
    );
  }
  if (error instanceof sdk.RemoteError) {
    return new SandboxFailedError(`${operation}: the runner raised an exception (see cause)`, options);
  }
  if (error instanceof sdk.InvalidError) {
    // The SDK refuses before sending when the deployment cannot take CBOR inputs.
    return new ConfigInvalidError(
      `${operation}: Modal refused the call (${error.name}); the runner must be deployed with the Modal Python SDK 1.2 or later: \`${runnerDeployCommand(environment)}\``,
      options,
    );
  }
  return errorFromModal(error, sdk, context);
}
