/**
 * Modal Functions as the fake emulates them: deployed functions found by app and name
 * (`FunctionGet`), variants with per-call options (`FunctionBindParams`), calls
 * (`FunctionMap` + `FunctionGetOutputs`, `FunctionRetryInputs`), and blobs for inputs and outputs
 * over 2 MiB (`BlobCreate` / `BlobGet` with an HTTP upload and download URL on 127.0.0.1).
 *
 * Inputs and outputs are CBOR, as between the JavaScript SDK and a function deployed with the
 * Modal Python SDK >= 1.2. The only function the fake can deploy is sandport's runner
 * (`runner/sandport_runner.py`): each call runs that very file with `python3` in a machine (by
 * default a `@sandport/local` sandbox), one call per machine at a time as one input per Modal
 * container, machines reused while warm. The file's own `--json-stdio` entry point takes the
 * decoded input; its reply is encoded back to CBOR as the Python SDK would.
 */
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { type CborValue, decodeCbor, encodeCbor } from "./cbor.ts";
import type { ModalFakeExecutor, ModalFakeMachine } from "./modal-fake-machine.ts";

/** `DataFormat` values. */
export const dataFormat = { pickle: 1, cbor: 4 } as const;

/** `GenericResult.status` values used for function outputs. */
const resultStatus = { success: 1, failure: 2, timeout: 4 } as const;

/** Largest input or output sent inline; larger ones travel as blobs (Modal's limit). */
export const maxInlineObjectBytes = 2 * 1024 * 1024;

/** The shipped runner's source file. */
export const runnerSourceUrl = new URL("../../runner/sandport_runner.py", import.meta.url);

/** How the runner is deployed in the fake. */
export interface FakeRunnerDeployment {
  /** Default `"sandport-runner"`, as in the runner file. */
  appName?: string;
  /** Default `"run"`, as in the runner file. */
  functionName?: string;
  /**
   * Input formats the deployment accepts. Default `[1, 4]` (pickle and CBOR: Modal Python SDK
   * >= 1.2); `[1]` stands for a deployment made with an older Python SDK.
   */
  supportedInputFormats?: number[];
  /** The function's timeout, seconds (its decorator's `timeout`). Default 86400. */
  timeoutSecs?: number;
}

/** One deployed function or bound variant. */
export interface FakeFunction {
  functionId: string;
  /** The deployed function a variant was bound from (itself for a deployed one). */
  baseFunctionId: string;
  appId: string;
  appName: string;
  functionName: string;
  supportedInputFormats: number[];
  timeoutSecs: number;
  /** The options of `FunctionBindParams`, as received (snake_case). */
  options: Record<string, unknown> | undefined;
}

/** One input the fake received, decoded: what a test asserts the adapter sent. */
export interface RecordedFunctionInput {
  functionId: string;
  /** The deployed function it ran (the base of a bound variant). */
  baseFunctionId: string;
  /** The options of the variant it ran on (undefined for the deployed function itself). */
  options: Record<string, unknown> | undefined;
  /** Positional arguments, decoded from CBOR. */
  args: CborValue[];
  kwargs: Record<string, CborValue>;
  /** Whether the input came as a blob. */
  viaBlob: boolean;
}

interface FakeCall {
  functionCallId: string;
  jwt: string;
  output: Record<string, unknown> | undefined;
  listeners: Set<() => void>;
}

/** A failure the grid reports as a gRPC status. */
export class GridError extends Error {
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

function token(prefix: string, length = 22): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  return `${prefix}${[...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join("")}`;
}

function plain(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

/** CBOR value -> the runner's JSON (bytes as `{"$bytes": base64}`). */
function toRunnerJson(value: CborValue): unknown {
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString("base64") };
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(toRunnerJson);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toRunnerJson(item)]));
  }
  return value;
}

/** The runner's JSON -> the value the Python SDK would encode. */
function fromRunnerJson(value: unknown): CborValue {
  if (Array.isArray(value)) return value.map(fromRunnerJson);
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$bytes") {
      return new Uint8Array(Buffer.from(String((value as { $bytes: string }).$bytes), "base64"));
    }
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fromRunnerJson(item)]));
  }
  return value as CborValue;
}

/** Functions, calls and blobs of the fake. */
export class FunctionGrid {
  readonly #executor: ModalFakeExecutor;
  readonly #appIdOf: (appName: string) => string;
  readonly #deployed = new Map<string, FakeFunction>();
  readonly #functions = new Map<string, FakeFunction>();
  readonly #calls = new Map<string, FakeCall>();
  readonly #blobs = new Map<string, Buffer | undefined>();
  readonly #idle: ModalFakeMachine[] = [];
  readonly #busy = new Set<ModalFakeMachine>();
  readonly #inputs: RecordedFunctionInput[] = [];
  #runnerSource: Promise<string> | undefined;
  #http: Server | undefined;
  #httpUrl = "";
  #closed = false;

  constructor(executor: ModalFakeExecutor, appIdOf: (appName: string) => string) {
    this.#executor = executor;
    this.#appIdOf = appIdOf;
  }

  /** Inputs received so far, decoded. */
  get inputs(): readonly RecordedFunctionInput[] {
    return this.#inputs;
  }

  /** Deploys the runner (as `modal deploy runner/sandport_runner.py` would). */
  deployRunner(deployment: FakeRunnerDeployment = {}): FakeFunction {
    const appName = deployment.appName ?? "sandport-runner";
    const functionName = deployment.functionName ?? "run";
    const functionId = token("fu-");
    const deployed: FakeFunction = {
      functionId,
      baseFunctionId: functionId,
      appId: this.#appIdOf(appName),
      appName,
      functionName,
      supportedInputFormats: deployment.supportedInputFormats ?? [dataFormat.pickle, dataFormat.cbor],
      timeoutSecs: deployment.timeoutSecs ?? 86_400,
      options: undefined,
    };
    this.#deployed.set(`${appName}/${functionName}`, deployed);
    this.#functions.set(functionId, deployed);
    return deployed;
  }

  /** Starts the blob HTTP server. */
  async start(): Promise<void> {
    const server = createServer((request, response) => {
      const match = /^\/blobs\/([A-Za-z0-9-]+)$/.exec(request.url ?? "");
      const blobId = match?.[1];
      if (blobId === undefined || !this.#blobs.has(blobId)) {
        response.writeHead(404).end();
        return;
      }
      if (request.method === "PUT") {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => {
          this.#blobs.set(blobId, Buffer.concat(chunks));
          response.writeHead(200).end();
        });
        return;
      }
      const stored = this.#blobs.get(blobId);
      if (request.method !== "GET" || stored === undefined) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { "content-type": "application/octet-stream" }).end(stored);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    this.#http = server;
    this.#httpUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Stops every machine and the blob server. */
  async close(): Promise<void> {
    this.#closed = true;
    const machines = [...this.#idle, ...this.#busy];
    this.#idle.length = 0;
    this.#busy.clear();
    await Promise.all(machines.map((machine) => machine.stop().catch(() => {})));
    const http = this.#http;
    if (http !== undefined) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  }

  // ---- RPCs -----------------------------------------------------------------------------------

  functionGet(request: Record<string, unknown>): unknown {
    const found = this.#deployed.get(`${String(request.app_name)}/${String(request.object_tag)}`);
    if (found === undefined) {
      throw new GridError(
        5,
        `Function '${String(request.object_tag)}' not found in app '${String(request.app_name)}'`,
      );
    }
    return { function_id: found.functionId, handle_metadata: this.#metadataOf(found) };
  }

  functionBindParams(request: Record<string, unknown>): unknown {
    const base = this.#functions.get(String(request.function_id));
    if (base === undefined) throw new GridError(5, "Function not found");
    const options = plain(request.function_options);
    const bound: FakeFunction = {
      ...base,
      functionId: token("fu-"),
      baseFunctionId: base.baseFunctionId,
      options,
      timeoutSecs: typeof options.timeout_secs === "number" ? options.timeout_secs : base.timeoutSecs,
    };
    this.#functions.set(bound.functionId, bound);
    return { bound_function_id: bound.functionId, handle_metadata: this.#metadataOf(bound) };
  }

  async functionMap(request: Record<string, unknown>): Promise<unknown> {
    const target = this.#functions.get(String(request.function_id));
    if (target === undefined) throw new GridError(5, "Function not found");
    const items = (request.pipelined_inputs as unknown[] | undefined) ?? [];
    if (items.length !== 1) throw new GridError(3, "the fake serves one input per call");
    const input = plain(plain(items[0]).input);
    if (input.data_format !== dataFormat.cbor || !target.supportedInputFormats.includes(dataFormat.cbor)) {
      throw new GridError(3, `input data format ${String(input.data_format)} is not accepted`);
    }
    const blobId = typeof input.args_blob_id === "string" ? input.args_blob_id : "";
    let payload: Buffer | undefined;
    if (blobId !== "") {
      payload = this.#blobs.get(blobId);
      if (payload === undefined) throw new GridError(3, "args blob was never uploaded");
    } else {
      payload = Buffer.from((input.args as Uint8Array | undefined) ?? new Uint8Array());
    }
    let decoded: CborValue;
    try {
      decoded = decodeCbor(payload);
    } catch (error) {
      throw new GridError(3, `input is not CBOR: ${(error as Error).message}`);
    }
    if (!Array.isArray(decoded) || decoded.length !== 2 || !Array.isArray(decoded[0])) {
      throw new GridError(3, "input is not [args, kwargs]");
    }
    const [args, kwargs] = decoded as [CborValue[], Record<string, CborValue>];
    this.#inputs.push({
      functionId: target.functionId,
      baseFunctionId: target.baseFunctionId,
      options: target.options,
      args,
      kwargs: plain(kwargs) as Record<string, CborValue>,
      viaBlob: blobId !== "",
    });
    const call: FakeCall = {
      functionCallId: token("fc-"),
      jwt: token("jwt-", 32),
      output: undefined,
      listeners: new Set(),
    };
    this.#calls.set(call.functionCallId, call);
    const inputId = token("in-");
    void this.#run(target, args).then((result) => {
      call.output = {
        result,
        idx: 0,
        input_id: inputId,
        data_format: dataFormat.cbor,
        output_created_at: Date.now() / 1000,
      };
      for (const listener of [...call.listeners]) listener();
    });
    return {
      function_call_id: call.functionCallId,
      function_call_jwt: call.jwt,
      pipelined_inputs: [{ idx: 0, input_id: inputId, input_jwt: token("ijwt-", 32) }],
    };
  }

  async functionGetOutputs(request: Record<string, unknown>, cancelled: () => boolean): Promise<unknown> {
    const call = this.#calls.get(String(request.function_call_id));
    if (call === undefined) throw new GridError(5, "Function call not found");
    const timeoutMs = Math.min(55, Math.max(0, Number(request.timeout ?? 0))) * 1000;
    const deadline = Date.now() + timeoutMs;
    while (call.output === undefined && Date.now() < deadline && !cancelled()) {
      await new Promise<void>((resolve) => {
        const listener = () => {
          call.listeners.delete(listener);
          resolve();
        };
        call.listeners.add(listener);
        setTimeout(listener, Math.min(1000, Math.max(1, deadline - Date.now()))).unref?.();
      });
    }
    if (call.output === undefined) return { outputs: [], last_entry_id: "0-0" };
    const output = call.output;
    if (request.clear_on_success === true) this.#calls.delete(call.functionCallId);
    return { outputs: [output], last_entry_id: "1-0", idxs: [0] };
  }

  functionRetryInputs(request: Record<string, unknown>): unknown {
    const inputs = (request.inputs as unknown[] | undefined) ?? [];
    return { input_jwts: inputs.map(() => token("ijwt-", 32)) };
  }

  blobCreate(): unknown {
    const blobId = token("bl-");
    this.#blobs.set(blobId, undefined);
    return { blob_id: blobId, upload_url: `${this.#httpUrl}/blobs/${blobId}` };
  }

  blobGet(request: Record<string, unknown>): unknown {
    const blobId = String(request.blob_id ?? "");
    if (this.#blobs.get(blobId) === undefined) throw new GridError(5, "Blob not found");
    return { download_url: `${this.#httpUrl}/blobs/${blobId}` };
  }

  // ---- running the runner ---------------------------------------------------------------------

  #metadataOf(found: FakeFunction): Record<string, unknown> {
    return {
      function_name: found.functionName,
      function_type: 1,
      app_id: found.appId,
      supported_input_formats: found.supportedInputFormats,
      supported_output_formats: [dataFormat.pickle, dataFormat.cbor],
      max_object_size_bytes: maxInlineObjectBytes,
    };
  }

  async #machine(): Promise<ModalFakeMachine> {
    const machine = this.#idle.pop() ?? (await this.#executor.start({ network: "open" }));
    this.#busy.add(machine);
    return machine;
  }

  /** Runs one input; resolves with its `GenericResult`. */
  async #run(target: FakeFunction, args: CborValue[]): Promise<Record<string, unknown>> {
    if (this.#closed) return { status: resultStatus.failure, exception: "the fake is closed" };
    this.#runnerSource ??= readFile(fileURLToPath(runnerSourceUrl), "utf8");
    const source = await this.#runnerSource;
    const machine = await this.#machine();
    let healthy = true;
    try {
      const process = await machine.spawn({
        argv: ["python3", "-c", source, "--json-stdio"],
        cwd: "/",
        env: {},
      });
      const stdin = Buffer.from(JSON.stringify(toRunnerJson(args[0] ?? null)), "utf8");
      await process.writeStdin(stdin);
      await process.closeStdin();
      let stdout = "";
      let stderr = "";
      const drained = Promise.all([
        (async () => {
          for await (const chunk of process.stdout) stdout += chunk;
        })(),
        (async () => {
          for await (const chunk of process.stderr) stderr += chunk;
        })(),
      ]);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        void process.kill("SIGKILL").catch(() => {});
      }, target.timeoutSecs * 1000);
      const [, status] = await Promise.all([drained, process.exited]);
      clearTimeout(timer);
      if (timedOut) {
        healthy = false;
        return { status: resultStatus.timeout, exception: `Function timed out after ${target.timeoutSecs}s` };
      }
      if (status !== 0) {
        healthy = false;
        return { status: resultStatus.failure, exception: `runner exited ${status}: ${stderr.slice(-2000)}` };
      }
      const reply = JSON.parse(stdout) as Record<string, unknown>;
      if (typeof reply.$exception === "string") {
        return { status: resultStatus.failure, exception: reply.$exception };
      }
      const encoded = Buffer.from(encodeCbor(fromRunnerJson(reply)));
      if (encoded.byteLength <= maxInlineObjectBytes) return { status: resultStatus.success, data: encoded };
      const blobId = token("bl-");
      this.#blobs.set(blobId, encoded);
      return { status: resultStatus.success, data_blob_id: blobId };
    } catch (error) {
      healthy = false;
      return {
        status: resultStatus.failure,
        exception: `the fake failed to run the runner: ${String(error)}`,
      };
    } finally {
      this.#busy.delete(machine);
      if (healthy && !this.#closed) this.#idle.push(machine);
      else void machine.stop().catch(() => {});
    }
  }
}
