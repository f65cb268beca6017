/**
 * A stateful fake of the `@cloudflare/sandbox/bridge` HTTP API as msw handlers. It answers with the
 * bridge's routes, status codes, error JSON and event stream, and keeps its quirks: `POST /sandbox`
 * only mints an id, and any call under `/sandbox/{id}/` (DELETE included) first assigns that id a
 * container, starting a fresh one for an unknown id. Commands and files are real: an executor runs
 * them (by default one `@sandport/local` sandbox per container). Every call is recorded, and faults
 * can be queued for the next requests.
 *
 * The exec path follows the bridge's source (`@cloudflare/sandbox` 0.12, `dist/bridge`) and the
 * container runtime behind it: argv becomes one command line by the bridge's `shellQuote` rule, which
 * bash runs; nothing ends a command when its client disconnects (the bridge never watches the
 * connection) and `timeout_ms` is dropped (the container's streaming exec does not pass it on), so a
 * command ends on its own, by another command, or with its container. Without a token the fake checks
 * no `Authorization` header, as a deployment without `SANDBOX_API_KEY`.
 *
 * ```ts
 * const bridge = createSandboxBridgeFake({ url: "https://bridge.test", token: "test-token" });
 * const server = setupServer(...bridge.handlers);
 * server.listen({ onUnhandledFrame: "error" });
 * ```
 */
import { Buffer } from "node:buffer";
import { HttpResponse, http, type RequestHandler } from "msw";
import { EventStreamWriter } from "./container-event-stream.ts";
import type { ContainerExecutor, FakeContainer } from "./container-executor.ts";
import { createLocalContainerExecutor } from "./container-local-executor.ts";
import { FaultQueue, type SandboxBridgeFault, type SandboxBridgeRoute } from "./sandbox-bridge-faults.ts";
import {
  decodeRoutedPath,
  mintSandboxBridgeId,
  resolveSandboxBridgeWorkspacePath,
  sandboxBridgeCommandLine,
  sandboxBridgeErrorResponse,
  sandboxBridgeIdPattern,
} from "./sandbox-bridge-rules.ts";

/** Options of {@link createSandboxBridgeFake}. */
export interface SandboxBridgeFakeOptions {
  /** Where the fake sandbox bridge answers, e.g. `"https://bridge.test"` (the provider's `url`). */
  url: string;
  /**
   * The bearer token it accepts (the sandbox bridge's `SANDBOX_API_KEY`). Without one (or with `""`) the
   * fake checks no `Authorization` header, as the sandbox bridge does when a deployment sets no key.
   */
  token?: string;
  /** Route prefix. Default `"/v1"`. */
  apiRoutePrefix?: string;
  /** Runs commands and holds files. Default: {@link createLocalContainerExecutor} with local's defaults. */
  executor?: ContainerExecutor;
  /** The deployment's `max_instances`: assigning one more container answers 503 `capacity_exceeded`. */
  maxInstances?: number;
}

/** One request the fake received. */
export interface RecordedSandboxBridgeCall {
  method: string;
  route: SandboxBridgeRoute;
  /** The URL path as sent (percent-encoding kept), e.g. `/v1/sandbox/abc/exec`. */
  path: string;
  /** Request headers with lowercase names; the accepted token's value reads `<token>`. */
  headers: Record<string, string>;
  /** A JSON body parsed, an octet-stream body as bytes, other text as a string; `undefined` when empty. */
  body: unknown;
}

/** Options of {@link SandboxBridgeFake.failNext}. */
export interface FailNextOptions {
  /** Only requests to this route. Default: any route (`cut-stream` always aims at exec). */
  route?: SandboxBridgeRoute;
  /** How many matching requests fail. Default 1. */
  times?: number;
}

/** The largest file body the sandbox bridge accepts. */
const maxWriteBytes = 32 * 1024 * 1024;

const htmlPage =
  "<!doctype html><html><head><title>Sign in</title></head><body><h1>Please sign in</h1></body></html>";

/** The fake sandbox bridge. Build it with {@link createSandboxBridgeFake}. */
export class SandboxBridgeFake {
  /** msw handlers answering for the fake's URL. */
  readonly handlers: RequestHandler[];
  readonly #token: string;
  readonly #prefix: string;
  readonly #basePath: string;
  readonly #executor: ContainerExecutor;
  readonly #maxInstances: number | undefined;
  readonly #containers = new Map<string, Promise<FakeContainer>>();
  readonly #calls: RecordedSandboxBridgeCall[] = [];
  readonly #faults = new FaultQueue();

  constructor(options: SandboxBridgeFakeOptions) {
    const base = new URL(options.url);
    this.#token = options.token ?? "";
    this.#prefix = options.apiRoutePrefix ?? "/v1";
    this.#basePath = base.pathname.replace(/\/+$/, "");
    this.#executor = options.executor ?? createLocalContainerExecutor();
    this.#maxInstances = options.maxInstances;
    this.handlers = [http.all(`${base.origin}/*`, ({ request }) => this.#handle(request))];
  }

  /** Requests received so far, oldest first. */
  get calls(): readonly RecordedSandboxBridgeCall[] {
    return this.#calls;
  }

  /** Forgets the recorded requests. */
  clearCalls(): void {
    this.#calls.length = 0;
  }

  /** Answers the next matching request(s) with `fault` instead of serving them. */
  failNext(fault: SandboxBridgeFault, options: FailNextOptions = {}): void {
    this.#faults.add(fault, options.route, options.times ?? 1);
  }

  /** Drops faults not yet used. */
  clearFaults(): void {
    this.#faults.clear();
  }

  /** Sandbox ids that have a container now. */
  liveSandboxIds(): string[] {
    return [...this.#containers.keys()];
  }

  /** How many containers are assigned (the sandbox bridge itself has no list route). */
  async countLiveSandboxes(): Promise<number> {
    return this.#containers.size;
  }

  /** Stops every container. */
  async close(): Promise<void> {
    const containers = [...this.#containers.values()];
    this.#containers.clear();
    await Promise.all(containers.map(async (container) => (await container).stop().catch(() => {})));
  }

  async #handle(request: Request): Promise<Response> {
    const rawPath = new URL(request.url).pathname;
    if (!rawPath.startsWith(`${this.#basePath}/`)) return new Response("Not Found", { status: 404 });
    const path = rawPath.slice(this.#basePath.length);
    const route = routeOf(request.method, path, this.#prefix);
    const body = new Uint8Array(await request.arrayBuffer());
    this.#calls.push({
      method: request.method,
      route,
      path: rawPath,
      headers: this.#recordedHeaders(request.headers),
      body: recordedBody(request.headers.get("content-type"), body),
    });
    const fault = this.#faults.take(route);
    if (fault !== undefined && fault.kind !== "cut-stream") return faultResponse(fault, route);
    // Like the Worker wrapper: only the API prefix reaches the sandbox bridge's router.
    if (!(path === this.#prefix || path.startsWith(`${this.#prefix}/`))) {
      return new Response("Not Found", { status: 404 });
    }
    return this.#route(request, path, body, fault);
  }

  async #route(
    request: Request,
    path: string,
    body: Uint8Array,
    fault: SandboxBridgeFault | undefined,
  ): Promise<Response> {
    const sandboxBase = `${this.#prefix}/sandbox`;
    if (path === sandboxBase || path.startsWith(`${sandboxBase}/`)) {
      const id = path.slice(sandboxBase.length + 1).split("/")[0];
      if (id !== undefined && id !== "" && !sandboxBridgeIdPattern.test(id)) {
        return sandboxBridgeErrorResponse(400, "Invalid sandbox ID format", "invalid_request");
      }
      if (!this.#authorized(request.headers))
        return sandboxBridgeErrorResponse(401, "Unauthorized", "unauthorized");
    }
    if (request.method === "POST" && path === sandboxBase)
      return HttpResponse.json({ id: mintSandboxBridgeId() });
    const match = /^\/sandbox\/([^/]+)\/(.*)$/.exec(path.slice(this.#prefix.length));
    const exactMatch = /^\/sandbox\/([^/]+)$/.exec(path.slice(this.#prefix.length));
    const id = match?.[1] ?? exactMatch?.[1];
    if (id === undefined) return notFound();
    // The router's `/sandbox/:id/*` middleware also matches `/sandbox/:id`: DELETE assigns a container too.
    let container: FakeContainer;
    try {
      container = await this.#assign(id);
    } catch (error) {
      if (error instanceof CapacityExceeded) {
        return sandboxBridgeErrorResponse(
          503,
          "Maximum number of running container instances exceeded (instance limit reached)",
          "capacity_exceeded",
        );
      }
      return sandboxBridgeErrorResponse(502, `pool error: ${describe(error)}`, "pool_error");
    }
    if (exactMatch !== null) {
      if (request.method !== "DELETE") return notFound();
      this.#containers.delete(id);
      await container.stop().catch(() => {});
      return new Response(null, { status: 204 });
    }
    const rest = match?.[2] ?? "";
    if (request.method === "POST" && rest === "exec") return this.#exec(container, body, fault);
    if (request.method === "GET" && rest === "running") return this.#running(container);
    if (rest.startsWith("file/") && (request.method === "GET" || request.method === "PUT")) {
      const decoded = decodeRoutedPath(path);
      const relative = decoded.slice(`${this.#prefix}/sandbox/${id}/file/`.length);
      if (relative === "")
        return sandboxBridgeErrorResponse(400, "file path must not be empty", "invalid_request");
      const resolved = resolveSandboxBridgeWorkspacePath(`/${relative}`);
      if (resolved === undefined) {
        return sandboxBridgeErrorResponse(
          403,
          "path must resolve to a location within /workspace",
          "invalid_request",
        );
      }
      return request.method === "GET"
        ? this.#readFile(container, resolved)
        : this.#writeFile(container, resolved, body);
    }
    return notFound();
  }

  async #exec(container: FakeContainer, body: Uint8Array, fault: SandboxBridgeFault | undefined) {
    let request: { argv?: unknown; timeout_ms?: unknown; cwd?: unknown };
    try {
      request = JSON.parse(new TextDecoder().decode(body)) as typeof request;
    } catch {
      return sandboxBridgeErrorResponse(400, "Invalid JSON body", "invalid_request");
    }
    const argv = request.argv;
    if (!Array.isArray(argv) || argv.length === 0) {
      return sandboxBridgeErrorResponse(400, "argv must be a non-empty array", "invalid_request");
    }
    // The sandbox bridge's own rule: one bash command line. Where its shellQuote throws (a non-string
    // whose string form needs quoting), the route throws and Hono answers its plain 500; numbers,
    // booleans and null pass, as they do there.
    let command: string;
    try {
      command = sandboxBridgeCommandLine(argv);
    } catch {
      return new Response("Internal Server Error", { status: 500 });
    }
    let cwd = "/workspace";
    if (typeof request.cwd === "string") {
      const resolved = resolveSandboxBridgeWorkspacePath(request.cwd);
      if (resolved === undefined) {
        return sandboxBridgeErrorResponse(
          403,
          "cwd must resolve to a location within /workspace",
          "invalid_request",
        );
      }
      cwd = resolved;
    }
    // `timeout_ms` is read and dropped, as the container's streaming exec drops it (recorded in `calls`).
    const writer = new EventStreamWriter();
    const cutAfter = fault?.kind === "cut-stream" ? (fault.afterOutputEvents ?? 1) : undefined;
    let outputEvents = 0;
    // The container hands the bridge each chunk as text (invalid UTF-8 becomes U+FFFD, empty chunks
    // are dropped), which the bridge base64-encodes as UTF-8: the fake sends what the bridge would.
    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    const send = (event: "stdout" | "stderr", text: string) => {
      if (text === "") return;
      writer.send(event, Buffer.from(text, "utf8").toString("base64"));
      outputEvents += 1;
      if (cutAfter !== undefined && outputEvents >= cutAfter) writer.close();
    };
    const output = (event: "stdout" | "stderr") => (chunk: Uint8Array) =>
      send(event, decoders[event].decode(chunk, { stream: true }));
    const finish = (event: string, data: unknown) => {
      send("stdout", decoders.stdout.decode());
      send("stderr", decoders.stderr.decode());
      // A cut stream never gets its terminal event.
      if (cutAfter === undefined) writer.send(event, JSON.stringify(data));
      writer.close();
    };
    // No signal: the sandbox bridge never watches the client's connection, and the container's stream
    // only drops its listeners when cancelled. A command outlives its client; it ends on its own, when
    // another command kills it, or with its container.
    container.exec({ command, cwd, onStdout: output("stdout"), onStderr: output("stderr") }).then(
      (outcome) => finish("exit", { exit_code: outcome.exitCode }),
      (error: unknown) => finish("error", { error: describe(error), code: "exec_error" }),
    );
    return new Response(writer.stream, {
      status: 200,
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  }

  /** The sandbox bridge's `/running`: it runs `true` in the container and answers whether that worked. */
  async #running(container: FakeContainer): Promise<Response> {
    try {
      await container.exec({ command: "true", cwd: "/workspace", onStdout: () => {}, onStderr: () => {} });
      return HttpResponse.json({ running: true });
    } catch {
      return HttpResponse.json({ running: false });
    }
  }

  async #readFile(container: FakeContainer, path: string): Promise<Response> {
    let data: Uint8Array | undefined;
    try {
      data = await container.readFile(path);
    } catch (error) {
      return sandboxBridgeErrorResponse(502, `read failed: ${describe(error)}`, "exec_transport_error");
    }
    if (data === undefined)
      return sandboxBridgeErrorResponse(404, `File not found: ${path}`, "workspace_read_not_found");
    return new Response(data as Uint8Array<ArrayBuffer>, {
      status: 200,
      headers: { "content-type": "application/octet-stream" },
    });
  }

  async #writeFile(container: FakeContainer, path: string, body: Uint8Array): Promise<Response> {
    if (body.byteLength > maxWriteBytes) {
      return sandboxBridgeErrorResponse(
        413,
        `payload too large: ${body.byteLength} bytes exceeds the ${maxWriteBytes}-byte limit`,
        "payload_too_large",
      );
    }
    try {
      await container.writeFile(path, body);
    } catch (error) {
      return sandboxBridgeErrorResponse(
        502,
        `write failed: ${describe(error)}`,
        "workspace_archive_write_error",
      );
    }
    return HttpResponse.json({ ok: true });
  }

  /** The warm pool's `getContainer`: the id's container, or a newly started one. */
  #assign(id: string): Promise<FakeContainer> {
    const existing = this.#containers.get(id);
    if (existing !== undefined) return existing;
    if (this.#maxInstances !== undefined && this.#containers.size >= this.#maxInstances) {
      return Promise.reject(new CapacityExceeded());
    }
    const starting = this.#executor.start();
    this.#containers.set(id, starting);
    starting.catch(() => this.#containers.delete(id));
    return starting;
  }

  #authorized(headers: Headers): boolean {
    if (this.#token === "") return true;
    const header = headers.get("authorization") ?? "";
    const provided = header.toLowerCase().startsWith("bearer ") ? header.slice(7) : "";
    return provided === this.#token;
  }

  #recordedHeaders(headers: Headers): Record<string, string> {
    const recorded: Record<string, string> = {};
    for (const [name, value] of headers) {
      recorded[name] = this.#token === "" ? value : value.split(this.#token).join("<token>");
    }
    return recorded;
  }
}

/** Thrown by the pool when the deployment's max_instances is reached. */
class CapacityExceeded extends Error {}

/** Creates a fake sandbox bridge; pass its `handlers` to msw's `setupServer`. */
export function createSandboxBridgeFake(options: SandboxBridgeFakeOptions): SandboxBridgeFake {
  return new SandboxBridgeFake(options);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Hono's answer for a path no route matches. */
function notFound(): Response {
  return new Response("404 Not Found", {
    status: 404,
    headers: { "content-type": "text/plain; charset=UTF-8" },
  });
}

function routeOf(method: string, path: string, prefix: string): SandboxBridgeRoute {
  const below = path.startsWith(prefix) ? path.slice(prefix.length) : path;
  if (method === "POST" && below === "/sandbox") return "create";
  if (method === "DELETE" && /^\/sandbox\/[^/]+$/.test(below)) return "destroy";
  if (method === "POST" && /^\/sandbox\/[^/]+\/exec$/.test(below)) return "exec";
  if (method === "GET" && /^\/sandbox\/[^/]+\/file\//.test(below)) return "readFile";
  if (method === "PUT" && /^\/sandbox\/[^/]+\/file\//.test(below)) return "writeFile";
  return "other";
}

function recordedBody(contentType: string | null, body: Uint8Array): unknown {
  if (body.byteLength === 0) return undefined;
  const type = contentType ?? "";
  if (type.startsWith("application/octet-stream")) return body;
  const text = new TextDecoder().decode(body);
  if (type.includes("json")) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function faultResponse(fault: SandboxBridgeFault, route: SandboxBridgeRoute): Response {
  switch (fault.kind) {
    case "unauthorized":
      return sandboxBridgeErrorResponse(401, "Unauthorized", "unauthorized");
    case "forbidden":
      return new Response("<html><body>Forbidden</body></html>", {
        status: 403,
        headers: { "content-type": "text/html" },
      });
    case "rate-limited":
      return new Response("error code: 1015", {
        status: 429,
        headers: { "content-type": "text/plain", "retry-after": fault.retryAfter },
      });
    case "server-error": {
      const status = fault.status ?? 502;
      const response = sandboxBridgeErrorResponse(status, "injected failure", fault.code ?? "pool_error");
      if (fault.retryAfter !== undefined) response.headers.set("retry-after", fault.retryAfter);
      return response;
    }
    case "network-error":
      return HttpResponse.error();
    case "malformed-json":
      if (route === "exec") {
        return new Response('event: exit\ndata: {"exit_code": \n\n', {
          status: 200,
          headers: { "content-type": "text/event-stream" },
        });
      }
      return new Response('{"id": "abc', { status: 200, headers: { "content-type": "application/json" } });
    case "html-page":
      return new Response(htmlPage, { status: 200, headers: { "content-type": "text/html; charset=utf-8" } });
    case "cut-stream":
      throw new Error("cut-stream is served by the exec route");
  }
}
