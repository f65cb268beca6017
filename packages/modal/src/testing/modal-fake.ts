/**
 * A stateful fake of Modal's API for the `modal` JavaScript SDK (0.11.x): one local gRPC server
 * (grpc-js, plaintext, 127.0.0.1, port 0) serving the control plane `modal.client.ModalClient`
 * and the task command router `modal.task_command_router.TaskCommandRouter` from the hand-written
 * wire-compatible proto subset in `packages/modal/proto`. It keeps apps, images, secrets,
 * sandboxes and their execs; every exec runs for real in a machine (by default one
 * `@sandport/local` sandbox per Modal sandbox), and the in-image fs-tools helper is emulated for
 * real on that machine's files (see `fs-tools-emulation.ts`). A sandbox ends at its
 * `timeout_secs`. Modal Functions are emulated too (see `function-grid.ts`): after
 * {@link ModalFake.deployRunner}, `functions.fromName(...)`, `withOptions(...).instance()` and
 * `.remote(...)` reach sandport's runner, whose shipped Python file runs for real on a machine.
 * Every call is recorded (never a credential), and faults can be queued.
 *
 * The SDK takes its endpoint only from the `MODAL_SERVER_URL` environment variable, read when a
 * `ModalClient` is constructed, and reads `~/.modal.toml` when it is imported unless
 * `MODAL_CONFIG_PATH` names another file: set both from {@link ModalFake.environment} before the
 * SDK is imported (the `@sandport/modal` provider imports it lazily, at its first call). The
 * router URL the fake hands out is `https://127.0.0.1:<port>`; the SDK dials it in plaintext
 * because the control plane is on localhost.
 *
 * ```ts
 * const modal = await createModalFake({ tokenId: "ak-test", tokenSecret: "as-test" });
 * Object.assign(process.env, modal.environment);
 * ```
 */
import { Buffer } from "node:buffer";
import { randomBytes, randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import type * as Grpc from "@grpc/grpc-js";
import { fsToolsPath, planFsTools } from "./fs-tools-emulation.ts";
import {
  type FakeFunction,
  type FakeRunnerDeployment,
  FunctionGrid,
  GridError,
  type RecordedFunctionInput,
} from "./function-grid.ts";
import { createLocalMachineExecutor } from "./local-machine.ts";
import {
  ModalFakeCwdError,
  type ModalFakeExecutor,
  type ModalFakeMachine,
  type ModalFakeProcess,
} from "./modal-fake-machine.ts";

/** The services of the fake, for aiming a fault and reading recorded calls. */
export type ModalService = "ModalClient" | "TaskCommandRouter";

/** gRPC status codes the fake answers with (the numbers of `@grpc/grpc-js`'s `status`). */
export const grpcStatus = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** One way to fail. */
export type ModalFault =
  /** The call ends with this gRPC status (and `details` as its message). */
  | { kind: "status"; code: number; details?: string }
  /** The call is served, `delayMs` late. */
  | { kind: "slow"; delayMs: number }
  /** Server streams: the first message is sent, then the stream ends with UNAVAILABLE. */
  | { kind: "drop-stream" };

/** One call the fake received. */
export interface RecordedModalCall {
  service: ModalService;
  /** The method name, e.g. `"SandboxCreateV2"`. */
  method: string;
  /** The decoded request (snake_case fields, as in the .proto); for client streams, the first message. */
  request: Record<string, unknown>;
  /** Whether the call carried the accepted credentials (the credentials themselves are never kept). */
  authorized: boolean;
}

/** Options of {@link createModalFake}. */
export interface ModalFakeOptions {
  /** The token id the fake accepts (`x-modal-token-id`). */
  tokenId: string;
  /** The token secret the fake accepts (`x-modal-token-secret`). */
  tokenSecret: string;
  /** Runs commands and holds files. Default: {@link createLocalMachineExecutor} with local's defaults. */
  executor?: ModalFakeExecutor;
  /** The image builder version the environment reports. Default `"2025.06"`. */
  imageBuilderVersion?: string;
}

interface QueuedFault {
  fault: ModalFault;
  method: string | undefined;
  remaining: number;
}

interface FakeExec {
  execId: string;
  stdout: Buffer[];
  stderr: Buffer[];
  stdoutLength: number;
  stderrLength: number;
  exitCode: number | undefined;
  listeners: Set<() => void>;
  stdinWritten: number;
  stdinClosed: boolean;
  process: ModalFakeProcess | undefined;
  /** Stdin received before the process started. */
  pendingStdin: Buffer[];
  pendingClose: boolean;
  started: Promise<void>;
}

interface FakeSandbox {
  id: string;
  taskId: string;
  appId: string;
  version: 1 | 2;
  createdAt: number;
  tags: { tag_name: string; tag_value: string }[];
  env: Record<string, string>;
  workdir: string;
  machine: ModalFakeMachine | undefined;
  /** GenericResult once the sandbox has ended. */
  result: { status: number; exitcode: number } | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  execs: Map<string, FakeExec>;
  jwt: string;
  ended: Promise<void>;
  markEnded: () => void;
}

/** `GenericResult.status` values. */
const genericStatus = { success: 1, terminated: 3, timeout: 4 } as const;

type Handler = (call: Grpc.ServerUnaryCall<unknown, unknown>) => Promise<unknown>;

function base64Url(value: string): string {
  return Buffer.from(value).toString("base64url");
}

/** A JWT-shaped token with an `exp` an hour ahead, as the SDK reads only `exp`. */
function mintJwt(subject: string): string {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return `${base64Url('{"alg":"none"}')}.${base64Url(JSON.stringify({ sub: subject, exp }))}.${randomBytes(8).toString("hex")}`;
}

function alphanumeric(length: number): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const bytes = randomBytes(length);
  return [...bytes].map((byte) => alphabet[byte % alphabet.length]).join("");
}

function plainObject(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

function stringMap(value: unknown): Record<string, string> {
  const contents = plainObject(plainObject(value).contents);
  return Object.fromEntries(Object.entries(contents).map(([key, entry]) => [key, String(entry)]));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The fake Modal API. Build it with {@link createModalFake}. */
export class ModalFake {
  readonly #options: ModalFakeOptions;
  readonly #executor: ModalFakeExecutor;
  readonly #calls: RecordedModalCall[] = [];
  readonly #faults: QueuedFault[] = [];
  readonly #sandboxes = new Map<string, FakeSandbox>();
  readonly #tasks = new Map<string, FakeSandbox>();
  readonly #apps = new Map<string, string>();
  readonly #images = new Map<string, Record<string, unknown>>();
  readonly #secrets = new Map<string, Record<string, string>>();
  readonly #authTokens = new Set<string>();
  readonly #grid: FunctionGrid;
  #server: Grpc.Server | undefined;
  #grpc: typeof Grpc | undefined;
  #port = 0;
  #closed = false;

  constructor(options: ModalFakeOptions) {
    this.#options = options;
    this.#executor = options.executor ?? createLocalMachineExecutor();
    this.#grid = new FunctionGrid(this.#executor, (appName) => {
      const key = `deployed/${appName}`;
      let appId = this.#apps.get(key);
      if (appId === undefined) {
        appId = `ap-${alphanumeric(22)}`;
        this.#apps.set(key, appId);
      }
      return appId;
    });
  }

  /**
   * Deploys sandport's runner function (`runner/sandport_runner.py`), as `modal deploy` would:
   * afterwards `functions.fromName("sandport-runner", "run")` finds it, and each call runs that
   * file with `python3` in a machine of the executor. Until then, function lookups are NOT_FOUND.
   */
  deployRunner(deployment?: FakeRunnerDeployment): FakeFunction {
    return this.#grid.deployRunner(deployment);
  }

  /** Every function input received so far, decoded from CBOR (what the adapter sent). */
  get functionInputs(): readonly RecordedFunctionInput[] {
    return this.#grid.inputs;
  }

  /** `http://127.0.0.1:<port>`: what `MODAL_SERVER_URL` must hold. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /**
   * The environment the SDK must see: `MODAL_SERVER_URL` (this fake), `MODAL_CONFIG_PATH` (a
   * file that does not exist, so `~/.modal.toml` is never read) and `MODAL_LOGLEVEL` (errors only).
   */
  get environment(): { MODAL_SERVER_URL: string; MODAL_CONFIG_PATH: string; MODAL_LOGLEVEL: string } {
    return {
      MODAL_SERVER_URL: this.url,
      MODAL_CONFIG_PATH: `/nonexistent/sandport-modal-fake-${this.#port}/.modal.toml`,
      // The SDK warns on every sandbox that it dials the router without TLS: expected here.
      MODAL_LOGLEVEL: "error",
    };
  }

  /** Every call received so far, in order. */
  get calls(): readonly RecordedModalCall[] {
    return this.#calls;
  }

  /** The recorded calls of one method. */
  callsOf(method: string): RecordedModalCall[] {
    return this.#calls.filter((call) => call.method === method);
  }

  /** Forgets the recorded calls. */
  clearCalls(): void {
    this.#calls.length = 0;
  }

  /** Fails the next `times` calls (of `method`, or of any method) with `fault`. */
  failNext(method: string | undefined, fault: ModalFault, times = 1): void {
    this.#faults.push({ fault, method, remaining: times });
  }

  /** Sandboxes that are still running. */
  async countLiveSandboxes(): Promise<number> {
    return [...this.#sandboxes.values()].filter((sandbox) => sandbox.result === undefined).length;
  }

  /** Starts listening on 127.0.0.1 (port 0). */
  async start(): Promise<void> {
    const grpc = await import("@grpc/grpc-js");
    const loader = await import("@grpc/proto-loader");
    this.#grpc = grpc;
    const protoDirectory = fileURLToPath(new URL("../../proto/", import.meta.url));
    const definition = await loader.load(["modal_client.proto", "task_command_router.proto"], {
      includeDirs: [protoDirectory],
      keepCase: true,
      longs: Number,
      enums: Number,
      defaults: true,
      oneofs: true,
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      modal: {
        client: { ModalClient: { service: Grpc.ServiceDefinition } };
        task_command_router: { TaskCommandRouter: { service: Grpc.ServiceDefinition } };
      };
    };
    const server = new grpc.Server();
    server.addService(loaded.modal.client.ModalClient.service, this.#controlPlane());
    server.addService(loaded.modal.task_command_router.TaskCommandRouter.service, this.#router());
    this.#port = await new Promise<number>((resolve, reject) => {
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      );
    });
    this.#server = server;
    await this.#grid.start();
  }

  /** Ends every sandbox, stops the server and releases the executor. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      [...this.#sandboxes.values()].map((sandbox) => this.#end(sandbox, genericStatus.terminated)),
    );
    const server = this.#server;
    if (server !== undefined) {
      // Streams a client left open would hold a graceful shutdown: wait a little, then force it.
      await Promise.race([new Promise<void>((resolve) => server.tryShutdown(() => resolve())), sleep(500)]);
      server.forceShutdown();
    }
    await this.#grid.close();
    await this.#executor.dispose?.();
  }

  // ---- plumbing -------------------------------------------------------------------------------

  #error(code: number, details: string): Grpc.ServiceError {
    const grpc = this.#grpc as typeof Grpc;
    const metadata = new grpc.Metadata();
    return Object.assign(new Error(details), { code, details, metadata }) as Grpc.ServiceError;
  }

  #takeFault(method: string): ModalFault | undefined {
    const index = this.#faults.findIndex((queued) => queued.method === undefined || queued.method === method);
    if (index === -1) return undefined;
    const queued = this.#faults[index] as QueuedFault;
    queued.remaining--;
    if (queued.remaining <= 0) this.#faults.splice(index, 1);
    return queued.fault;
  }

  #controlPlaneAuthorized(metadata: Grpc.Metadata, method: string): boolean {
    const id = metadata.get("x-modal-token-id")[0];
    const secret = metadata.get("x-modal-token-secret")[0];
    if (id !== this.#options.tokenId || secret !== this.#options.tokenSecret) return false;
    if (method === "AuthTokenGet") return true;
    const token = metadata.get("x-modal-auth-token")[0];
    return typeof token === "string" && this.#authTokens.has(token);
  }

  #routerAuthorized(metadata: Grpc.Metadata, taskId: unknown): boolean {
    const header = metadata.get("authorization")[0];
    const sandbox = typeof taskId === "string" ? this.#tasks.get(taskId) : undefined;
    if (sandbox === undefined) return typeof header === "string" && header.startsWith("Bearer ");
    return header === `Bearer ${sandbox.jwt}`;
  }

  /** Records the call, applies a queued fault and the credentials check, then runs `handler`. */
  #unary(service: ModalService, method: string, handler: Handler): Grpc.handleUnaryCall<unknown, unknown> {
    return (call, callback) => {
      const request = plainObject(call.request);
      const authorized =
        service === "ModalClient"
          ? this.#controlPlaneAuthorized(call.metadata, method)
          : this.#routerAuthorized(call.metadata, request.task_id);
      this.#calls.push({ service, method, request, authorized });
      void (async () => {
        const fault = this.#takeFault(method);
        if (fault?.kind === "status")
          throw this.#error(fault.code, fault.details ?? `injected fault on ${method}`);
        if (fault?.kind === "slow") await sleep(fault.delayMs);
        if (!authorized) {
          throw this.#error(grpcStatus.UNAUTHENTICATED, "Invalid token id or token secret");
        }
        try {
          return await handler(call);
        } catch (error) {
          if (error instanceof GridError) throw this.#error(error.code, error.message);
          throw error;
        }
      })().then(
        (response) => callback(null, response as never),
        (error: unknown) => {
          const known = error as Partial<Grpc.ServiceError>;
          callback(
            typeof known.code === "number"
              ? (error as Grpc.ServiceError)
              : this.#error(grpcStatus.INTERNAL, "the fake failed: see its console"),
          );
          if (typeof known.code !== "number") console.error("modal fake:", error);
        },
      );
    };
  }

  // ---- control plane --------------------------------------------------------------------------

  #controlPlane(): Grpc.UntypedServiceImplementation {
    const unary = (method: string, handler: Handler) => this.#unary("ModalClient", method, handler);
    const sandboxOf = (request: Record<string, unknown>): FakeSandbox => {
      const sandbox = this.#sandboxes.get(String(request.sandbox_id ?? ""));
      if (sandbox === undefined) throw this.#error(grpcStatus.NOT_FOUND, "Sandbox not found");
      return sandbox;
    };
    return {
      AuthTokenGet: unary("AuthTokenGet", async () => {
        const token = mintJwt("fake-user");
        this.#authTokens.add(token);
        return { token };
      }),
      AppGetOrCreate: unary("AppGetOrCreate", async (call) => {
        const request = plainObject(call.request);
        const key = `${String(request.environment_name)}/${String(request.app_name)}`;
        let appId = this.#apps.get(key);
        if (appId === undefined) {
          if (request.object_creation_type !== 1) throw this.#error(grpcStatus.NOT_FOUND, "App not found");
          appId = `ap-${alphanumeric(22)}`;
          this.#apps.set(key, appId);
        }
        return { app_id: appId };
      }),
      EnvironmentGetOrCreate: unary("EnvironmentGetOrCreate", async (call) => ({
        environment_id: "en-fake",
        metadata: {
          name: String(plainObject(call.request).deployment_name || "main"),
          settings: { image_builder_version: this.#options.imageBuilderVersion ?? "2025.06" },
        },
      })),
      ImageGetOrCreate: unary("ImageGetOrCreate", async (call) => {
        const image = plainObject(plainObject(call.request).image);
        const imageId = `im-${alphanumeric(22)}`;
        this.#images.set(imageId, image);
        // Built at once: the machine is the same whatever the image.
        return { image_id: imageId, result: { status: genericStatus.success } };
      }),
      ImageJoinStreaming: (call: Grpc.ServerWritableStream<unknown, unknown>) => {
        this.#calls.push({
          service: "ModalClient",
          method: "ImageJoinStreaming",
          request: plainObject(call.request),
          authorized: true,
        });
        call.write({ result: { status: genericStatus.success }, entry_id: "1-0", eof: true });
        call.end();
      },
      SecretGetOrCreate: unary("SecretGetOrCreate", async (call) => {
        const request = plainObject(call.request);
        const secretId = `st-${alphanumeric(22)}`;
        const env = plainObject(request.env_dict);
        this.#secrets.set(
          secretId,
          Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value)])),
        );
        return { secret_id: secretId };
      }),
      SandboxCreateV2: unary("SandboxCreateV2", async (call) => {
        const request = plainObject(call.request);
        const sandbox = await this.#createSandbox(request, 2);
        return {
          sandbox_id: sandbox.id,
          task_id: sandbox.taskId,
          command_router_access: { jwt: sandbox.jwt, url: this.#routerUrl() },
        };
      }),
      SandboxCreate: unary("SandboxCreate", async (call) => {
        const sandbox = await this.#createSandbox(plainObject(call.request), 1);
        return { sandbox_id: sandbox.id };
      }),
      SandboxGetTaskId: unary("SandboxGetTaskId", async (call) =>
        this.#taskIdOf(sandboxOf(plainObject(call.request))),
      ),
      SandboxGetTaskIdV2: unary("SandboxGetTaskIdV2", async (call) =>
        this.#taskIdOf(sandboxOf(plainObject(call.request))),
      ),
      SandboxGetCommandRouterAccess: unary("SandboxGetCommandRouterAccess", async (call) => {
        const sandbox = sandboxOf(plainObject(call.request));
        if (sandbox.result !== undefined)
          throw this.#error(grpcStatus.FAILED_PRECONDITION, "Sandbox has finished");
        return { jwt: sandbox.jwt, url: this.#routerUrl() };
      }),
      TaskGetCommandRouterAccess: unary("TaskGetCommandRouterAccess", async (call) => {
        const sandbox = this.#tasks.get(String(plainObject(call.request).task_id));
        if (sandbox === undefined) throw this.#error(grpcStatus.NOT_FOUND, "Task not found");
        return { jwt: sandbox.jwt, url: this.#routerUrl() };
      }),
      SandboxWait: unary("SandboxWait", async (call) =>
        this.#wait(sandboxOf(plainObject(call.request)), call),
      ),
      SandboxWaitV2: unary("SandboxWaitV2", async (call) =>
        this.#wait(sandboxOf(plainObject(call.request)), call),
      ),
      SandboxTerminate: unary("SandboxTerminate", async (call) =>
        this.#terminate(sandboxOf(plainObject(call.request))),
      ),
      SandboxTerminateV2: unary("SandboxTerminateV2", async (call) =>
        this.#terminate(sandboxOf(plainObject(call.request))),
      ),
      SandboxList: unary("SandboxList", async (call) => this.#list(plainObject(call.request))),
      SandboxListV2: unary("SandboxListV2", async (call) => this.#list(plainObject(call.request))),
      SandboxTagsGet: unary("SandboxTagsGet", async (call) => ({
        tags: sandboxOf(plainObject(call.request)).tags,
      })),
      SandboxTagsGetV2: unary("SandboxTagsGetV2", async (call) => ({
        tags: sandboxOf(plainObject(call.request)).tags,
      })),
      FunctionGet: unary("FunctionGet", async (call) => this.#grid.functionGet(plainObject(call.request))),
      FunctionBindParams: unary("FunctionBindParams", async (call) =>
        this.#grid.functionBindParams(plainObject(call.request)),
      ),
      FunctionMap: unary("FunctionMap", async (call) => this.#grid.functionMap(plainObject(call.request))),
      FunctionGetOutputs: unary("FunctionGetOutputs", async (call) =>
        this.#grid.functionGetOutputs(plainObject(call.request), () => call.cancelled),
      ),
      FunctionRetryInputs: unary("FunctionRetryInputs", async (call) =>
        this.#grid.functionRetryInputs(plainObject(call.request)),
      ),
      BlobCreate: unary("BlobCreate", async () => this.#grid.blobCreate()),
      BlobGet: unary("BlobGet", async (call) => this.#grid.blobGet(plainObject(call.request))),
    };
  }

  #routerUrl(): string {
    return `https://127.0.0.1:${this.#port}`;
  }

  async #createSandbox(request: Record<string, unknown>, version: 1 | 2): Promise<FakeSandbox> {
    const definition = plainObject(request.definition);
    const appId = String(request.app_id ?? "");
    if (![...this.#apps.values()].includes(appId)) throw this.#error(grpcStatus.NOT_FOUND, "App not found");
    if (!this.#images.has(String(definition.image_id)))
      throw this.#error(grpcStatus.NOT_FOUND, "Image not found");
    const env: Record<string, string> = {};
    for (const source of (request.secret_sources as unknown[] | undefined) ?? []) {
      const secretId = plainObject(source).secret_id;
      if (typeof secretId === "string" && secretId !== "") Object.assign(env, this.#secrets.get(secretId));
      Object.assign(env, stringMap(plainObject(source).env));
    }
    for (const secretId of (definition.secret_ids as string[] | undefined) ?? []) {
      Object.assign(env, this.#secrets.get(secretId));
    }
    const network = plainObject(definition.network_access);
    const open = definition.block_network !== true && (network.network_access_type ?? 1) === 1;
    const machine = await this.#executor.start({ network: open ? "open" : "none" });
    let markEnded = () => {};
    const ended = new Promise<void>((resolve) => {
      markEnded = resolve;
    });
    // V1 ids are "sb-" and 22 characters; anything else is a V2 id to the SDK.
    const id = version === 1 ? `sb-${alphanumeric(22)}` : `sb-${alphanumeric(26)}`;
    const sandbox: FakeSandbox = {
      id,
      taskId: `ta-${alphanumeric(22)}`,
      appId,
      version,
      createdAt: Date.now() / 1000,
      tags: ((request.tags as { tag_name: string; tag_value: string }[] | undefined) ?? []).map((tag) => ({
        tag_name: tag.tag_name,
        tag_value: tag.tag_value,
      })),
      env,
      workdir: typeof definition.workdir === "string" && definition.workdir !== "" ? definition.workdir : "/",
      machine,
      result: undefined,
      timer: undefined,
      execs: new Map(),
      jwt: mintJwt(id),
      ended,
      markEnded,
    };
    this.#sandboxes.set(sandbox.id, sandbox);
    this.#tasks.set(sandbox.taskId, sandbox);
    const timeoutSecs = Number(definition.timeout_secs ?? 0) || 300;
    sandbox.timer = setTimeout(() => void this.#end(sandbox, genericStatus.timeout), timeoutSecs * 1000);
    sandbox.timer.unref?.();
    return sandbox;
  }

  #taskIdOf(sandbox: FakeSandbox): Record<string, unknown> {
    if (sandbox.result !== undefined) return { task_result: sandbox.result };
    return { task_id: sandbox.taskId };
  }

  async #wait(sandbox: FakeSandbox, call: Grpc.ServerUnaryCall<unknown, unknown>): Promise<unknown> {
    const timeout = Number(plainObject(call.request).timeout ?? 0);
    if (sandbox.result === undefined && timeout > 0) {
      await Promise.race([sandbox.ended, sleep(timeout * 1000)]);
    }
    return sandbox.result === undefined ? {} : { result: sandbox.result };
  }

  async #terminate(sandbox: FakeSandbox): Promise<unknown> {
    const existing = sandbox.result;
    await this.#end(sandbox, genericStatus.terminated);
    return existing === undefined ? {} : { existing_result: existing };
  }

  #list(request: Record<string, unknown>): unknown {
    const before = Number(request.before_timestamp ?? 0);
    const wanted = (request.tags as { tag_name: string; tag_value: string }[] | undefined) ?? [];
    const sandboxes = [...this.#sandboxes.values()]
      .filter((sandbox) => request.include_finished === true || sandbox.result === undefined)
      .filter((sandbox) => !request.app_id || sandbox.appId === request.app_id)
      .filter((sandbox) => before === 0 || sandbox.createdAt < before)
      .filter((sandbox) =>
        wanted.every((tag) =>
          sandbox.tags.some((own) => own.tag_name === tag.tag_name && own.tag_value === tag.tag_value),
        ),
      )
      .sort((left, right) => right.createdAt - left.createdAt)
      .slice(0, 100);
    return {
      sandboxes: sandboxes.map((sandbox) => ({
        id: sandbox.id,
        created_at: sandbox.createdAt,
        app_id: sandbox.appId,
        tags: sandbox.tags,
      })),
    };
  }

  /** Ends a sandbox: its execs end (SIGKILL, 137), its machine stops, its result is kept. */
  async #end(sandbox: FakeSandbox, status: number): Promise<void> {
    if (sandbox.result !== undefined) return;
    sandbox.result = { status, exitcode: status === genericStatus.terminated ? 137 : 0 };
    clearTimeout(sandbox.timer);
    const machine = sandbox.machine;
    sandbox.machine = undefined;
    for (const exec of sandbox.execs.values()) this.#finishExec(exec, 137);
    sandbox.markEnded();
    await machine?.stop().catch(() => {});
  }

  // ---- task command router --------------------------------------------------------------------

  #router(): Grpc.UntypedServiceImplementation {
    const unary = (method: string, handler: Handler) => this.#unary("TaskCommandRouter", method, handler);
    return {
      TaskExecStart: unary("TaskExecStart", async (call) => {
        const request = plainObject(call.request);
        const sandbox = this.#liveTask(request.task_id);
        const execId = String(request.exec_id ?? "");
        if (execId === "" || sandbox.execs.has(execId)) {
          throw this.#error(grpcStatus.INVALID_ARGUMENT, "exec_id must be new and non-empty");
        }
        this.#startExec(sandbox, execId, request);
        return {};
      }),
      TaskExecStdioRead: (call: Grpc.ServerWritableStream<unknown, unknown>) => this.#stdioRead(call),
      TaskExecStdinWrite: unary("TaskExecStdinWrite", async (call) => {
        const request = plainObject(call.request);
        const exec = this.#execOf(request);
        await this.#writeStdin(exec, Number(request.offset ?? 0), request.data as Buffer | undefined);
        if (request.eof === true) await this.#closeStdin(exec);
        return {};
      }),
      TaskExecStdinWriteStream: (
        call: Grpc.ServerReadableStream<unknown, unknown>,
        callback: Grpc.sendUnaryData<unknown>,
      ) => this.#stdinStream(call, callback),
      TaskExecStdinStatus: unary("TaskExecStdinStatus", async (call) => {
        const exec = this.#execOf(plainObject(call.request));
        return { num_bytes_written: exec.stdinWritten, closed: exec.stdinClosed };
      }),
      TaskExecPoll: unary("TaskExecPoll", async (call) => {
        const exec = this.#execOf(plainObject(call.request));
        return exec.exitCode === undefined ? {} : { code: exec.exitCode };
      }),
      TaskExecWait: unary("TaskExecWait", async (call) => {
        const exec = this.#execOf(plainObject(call.request));
        while (exec.exitCode === undefined) {
          if (call.cancelled) throw this.#error(grpcStatus.CANCELLED, "cancelled");
          await new Promise<void>((resolve) => {
            const listener = () => {
              exec.listeners.delete(listener);
              resolve();
            };
            exec.listeners.add(listener);
            // Re-checks now and then, so a cancelled call does not wait forever.
            setTimeout(listener, 1000).unref?.();
          });
        }
        return { code: exec.exitCode };
      }),
    };
  }

  #liveTask(taskId: unknown): FakeSandbox {
    const sandbox = this.#tasks.get(String(taskId ?? ""));
    if (sandbox === undefined) throw this.#error(grpcStatus.NOT_FOUND, "Task not found");
    if (sandbox.result !== undefined || sandbox.machine === undefined) {
      throw this.#error(grpcStatus.NOT_FOUND, "Task has finished");
    }
    return sandbox;
  }

  #execOf(request: Record<string, unknown>): FakeExec {
    const sandbox = this.#tasks.get(String(request.task_id ?? ""));
    const exec = sandbox?.execs.get(String(request.exec_id ?? ""));
    if (exec === undefined) throw this.#error(grpcStatus.NOT_FOUND, "Exec not found");
    return exec;
  }

  #notify(exec: FakeExec): void {
    for (const listener of [...exec.listeners]) listener();
  }

  #append(exec: FakeExec, stream: "stdout" | "stderr", data: Uint8Array): void {
    if (data.byteLength === 0 || exec.exitCode !== undefined) return;
    const buffer = Buffer.from(data);
    if (stream === "stdout") {
      exec.stdout.push(buffer);
      exec.stdoutLength += buffer.byteLength;
    } else {
      exec.stderr.push(buffer);
      exec.stderrLength += buffer.byteLength;
    }
    this.#notify(exec);
  }

  #finishExec(exec: FakeExec, exitCode: number): void {
    if (exec.exitCode !== undefined) return;
    exec.exitCode = exitCode;
    void exec.process?.kill("SIGKILL").catch(() => {});
    this.#notify(exec);
  }

  #startExec(sandbox: FakeSandbox, execId: string, request: Record<string, unknown>): void {
    const env = { ...sandbox.env };
    for (const source of (request.secret_sources as unknown[] | undefined) ?? []) {
      const secretId = plainObject(source).secret_id;
      if (typeof secretId === "string" && secretId !== "") Object.assign(env, this.#secrets.get(secretId));
      Object.assign(env, stringMap(plainObject(source).env));
    }
    Object.assign(env, plainObject(request.env));
    const argv = ((request.command_args as string[] | undefined) ?? []).map(String);
    const cwd =
      typeof request.workdir === "string" && request.workdir !== "" ? request.workdir : sandbox.workdir;
    const exec: FakeExec = {
      execId,
      stdout: [],
      stderr: [],
      stdoutLength: 0,
      stderrLength: 0,
      exitCode: undefined,
      listeners: new Set(),
      stdinWritten: 0,
      stdinClosed: false,
      process: undefined,
      pendingStdin: [],
      pendingClose: false,
      started: Promise.resolve(),
    };
    sandbox.execs.set(execId, exec);
    const machine = sandbox.machine as ModalFakeMachine;
    const fsTools = argv[0] === fsToolsPath ? planFsTools(argv[1]) : undefined;
    const stdoutPiped = request.stdout_config !== 0;
    const stderrPiped = request.stderr_config !== 0;
    exec.started = (async () => {
      let process: ModalFakeProcess;
      try {
        process = await machine.spawn({
          argv: fsTools?.argv ?? argv,
          cwd: fsTools === undefined ? cwd : "/",
          env,
        });
      } catch (error) {
        if (error instanceof ModalFakeCwdError) {
          this.#append(exec, "stderr", Buffer.from(`modal: workdir ${cwd} does not exist\n`));
          this.#finishExec(exec, 1);
          return;
        }
        const message = argv[0] === undefined ? "empty command" : `${argv[0]}: could not start`;
        this.#append(exec, "stderr", Buffer.from(`${message}\n`));
        this.#finishExec(exec, 127);
        return;
      }
      exec.process = process;
      if (exec.exitCode !== undefined) {
        await process.kill("SIGKILL").catch(() => {});
        return;
      }
      for (const chunk of exec.pendingStdin) await process.writeStdin(chunk).catch(() => {});
      exec.pendingStdin = [];
      if (exec.pendingClose || (fsTools !== undefined && !fsTools.takesStdin))
        await process.closeStdin().catch(() => {});
      const timeoutSecs = Number(request.timeout_secs ?? 0);
      const timer =
        timeoutSecs > 0
          ? setTimeout(() => void process.kill("SIGKILL").catch(() => {}), timeoutSecs * 1000)
          : undefined;
      if (fsTools !== undefined) {
        let stdout = "";
        const drain = async (chunks: AsyncIterable<string>, keep: boolean) => {
          for await (const chunk of chunks) if (keep) stdout += chunk;
        };
        const [, , status] = await Promise.all([
          drain(process.stdout, true),
          drain(process.stderr, false),
          process.exited,
        ]);
        clearTimeout(timer);
        const translated = fsTools.translate(status, stdout);
        this.#append(exec, "stdout", translated.stdout);
        this.#append(exec, "stderr", translated.stderr);
        this.#finishExec(exec, translated.exitCode);
        return;
      }
      const pump = async (chunks: AsyncIterable<string>, stream: "stdout" | "stderr", piped: boolean) => {
        for await (const chunk of chunks) if (piped) this.#append(exec, stream, Buffer.from(chunk, "utf8"));
      };
      const [, , status] = await Promise.all([
        pump(process.stdout, "stdout", stdoutPiped),
        pump(process.stderr, "stderr", stderrPiped),
        process.exited,
      ]);
      clearTimeout(timer);
      this.#finishExec(exec, status);
    })().catch((error: unknown) => {
      // A machine stopped under a running exec (terminate, timeout) ends it quietly.
      if (exec.exitCode === undefined && sandbox.result === undefined)
        console.error("modal fake: exec failed", error);
      this.#finishExec(exec, 137);
    });
  }

  async #writeStdin(exec: FakeExec, offset: number, data: Uint8Array | undefined): Promise<void> {
    if (data === undefined || data.byteLength === 0) return;
    if (exec.stdinClosed) throw this.#error(grpcStatus.FAILED_PRECONDITION, "stdin is closed");
    // A retried write repeats bytes already taken: only the new part is written.
    const skip = Math.max(0, exec.stdinWritten - offset);
    if (skip >= data.byteLength) return;
    const fresh = Buffer.from(data.subarray(skip));
    exec.stdinWritten += fresh.byteLength;
    if (exec.process === undefined) exec.pendingStdin.push(fresh);
    else await exec.process.writeStdin(fresh).catch(() => {});
  }

  async #closeStdin(exec: FakeExec): Promise<void> {
    if (exec.stdinClosed) return;
    exec.stdinClosed = true;
    if (exec.process === undefined) exec.pendingClose = true;
    else await exec.process.closeStdin().catch(() => {});
  }

  #stdinStream(
    call: Grpc.ServerReadableStream<unknown, unknown>,
    callback: Grpc.sendUnaryData<unknown>,
  ): void {
    let exec: FakeExec | undefined;
    let offset = 0;
    let recorded = false;
    let failed = false;
    let work = Promise.resolve();
    const fail = (error: Grpc.ServiceError) => {
      if (failed) return;
      failed = true;
      callback(error);
    };
    call.on("data", (message: unknown) => {
      const item = plainObject(message);
      work = work.then(async () => {
        if (failed) return;
        if (!recorded) {
          recorded = true;
          const start = plainObject(item.start);
          const authorized = this.#routerAuthorized(call.metadata, start.task_id);
          this.#calls.push({
            service: "TaskCommandRouter",
            method: "TaskExecStdinWriteStream",
            request: item,
            authorized,
          });
          const fault = this.#takeFault("TaskExecStdinWriteStream");
          if (fault?.kind === "status")
            return fail(this.#error(fault.code, fault.details ?? "injected fault"));
          if (fault?.kind === "slow") await sleep(fault.delayMs);
          if (!authorized) return fail(this.#error(grpcStatus.UNAUTHENTICATED, "Invalid router token"));
          try {
            exec = this.#execOf(start);
          } catch (error) {
            return fail(error as Grpc.ServiceError);
          }
          offset = Number(start.offset ?? 0);
          return;
        }
        if (exec === undefined) return;
        if (item.data !== undefined && item.data !== null) {
          const data = item.data as Buffer;
          await this.#writeStdin(exec, offset, data);
          offset += data.byteLength;
        }
        if (item.end !== undefined && item.end !== null) await this.#closeStdin(exec);
      });
    });
    call.on("end", () => {
      void work.then(() => {
        if (!failed) callback(null, {});
      });
    });
    call.on("error", () => {
      failed = true;
    });
  }

  #stdioRead(call: Grpc.ServerWritableStream<unknown, unknown>): void {
    const request = plainObject(call.request);
    const authorized = this.#routerAuthorized(call.metadata, request.task_id);
    this.#calls.push({ service: "TaskCommandRouter", method: "TaskExecStdioRead", request, authorized });
    void (async () => {
      const fault = this.#takeFault("TaskExecStdioRead");
      if (fault?.kind === "status") throw this.#error(fault.code, fault.details ?? "injected fault");
      if (fault?.kind === "slow") await sleep(fault.delayMs);
      if (!authorized) throw this.#error(grpcStatus.UNAUTHENTICATED, "Invalid router token");
      const exec = this.#execOf(request);
      // 0 is stdout, 1 is stderr (TaskExecStdioFileDescriptor).
      const stream = request.file_descriptor === 1 ? "stderr" : "stdout";
      let offset = Number(request.offset ?? 0);
      let sent = 0;
      for (;;) {
        if (call.cancelled) return;
        const chunks = stream === "stdout" ? exec.stdout : exec.stderr;
        const whole = Buffer.concat(chunks);
        if (whole.byteLength > offset) {
          const data = whole.subarray(offset);
          offset = whole.byteLength;
          call.write({ data });
          sent++;
          if (fault?.kind === "drop-stream" && sent === 1) {
            throw this.#error(grpcStatus.UNAVAILABLE, "stream dropped (injected)");
          }
          continue;
        }
        if (exec.exitCode !== undefined) break;
        await new Promise<void>((resolve) => {
          const listener = () => {
            exec.listeners.delete(listener);
            resolve();
          };
          exec.listeners.add(listener);
          setTimeout(listener, 1000).unref?.();
        });
      }
      call.end();
    })().catch((error: unknown) => {
      const known = error as Partial<Grpc.ServiceError>;
      // grpc-js ends a server stream with a status when the call emits an error.
      call.emit(
        "error",
        typeof known.code === "number"
          ? (error as Error)
          : this.#error(grpcStatus.INTERNAL, "the fake failed"),
      );
    });
  }
}

/** Creates and starts a fake Modal API on 127.0.0.1 (port 0). */
export async function createModalFake(options: ModalFakeOptions): Promise<ModalFake> {
  const fake = new ModalFake(options);
  await fake.start();
  return fake;
}

/** A fresh random exec id, as the SDK makes them (exported for tests that drive the router directly). */
export function newExecId(): string {
  return randomUUID();
}
