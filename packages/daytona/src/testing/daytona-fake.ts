/**
 * A stateful fake of the Daytona API as msw handlers plus a loopback `ws` server, for the contract
 * suite and for users' own tests: the REST API (`POST/GET/DELETE /sandbox`, cursor-paged list,
 * start/stop, toolbox proxy URL) and the toolbox API each sandbox's `toolboxProxyUrl` points at
 * (sessions and their commands, `/process/execute`, `/files` with multipart bulk upload and
 * download, working directory). Session command logs stream over a real WebSocket, framed as the
 * SDK expects (`01 01 01` before stdout bytes, `02 02 02` before stderr bytes), closed when the
 * command ends. Commands and files are real: a machine runs them (by default one
 * `@sandport/local` sandbox per Daytona sandbox). Preview links (`/sandbox/{id}/ports/{port}/preview-url`)
 * point at a loopback HTTP proxy per sandbox port that checks the link's token header and forwards
 * to the machine's port. Every call is recorded; faults can be queued.
 *
 * ```ts
 * const daytona = createDaytonaFake({ apiUrl: "https://daytona.test/api", apiKey: "test-key" });
 * const server = setupServer(...daytona.handlers);
 * server.listen({ onUnhandledFrame: "error" });
 * const provider = createDaytonaProvider({ apiUrl: daytona.apiUrl, apiKey: "test-key", target: "us" });
 * ```
 */
import { Buffer } from "node:buffer";
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { type FileInfo, normalizeAbsolutePath, SandportError } from "@sandport/core";
import { HttpResponse, http, passthrough, type RequestHandler } from "msw";
import { type WebSocket, WebSocketServer } from "ws";
import { createLocalMachines, type FakeMachine, type FakeMachineFactory } from "./fake-sandbox-machine.ts";

/** Options of {@link createDaytonaFake}. */
export interface DaytonaFakeOptions {
  /** Where the fake API answers (the provider's `apiUrl`). Default `"https://daytona.fake/api"`. */
  apiUrl?: string;
  /** The API key it accepts as `Authorization: Bearer <key>`. Default `"daytona-fake-key"`. */
  apiKey?: string;
  /** Runs commands and holds files. Default {@link createLocalMachines}. */
  machines?: FakeMachineFactory;
  /** Items per list page when the request sets no `limit`. Default 100. */
  pageSize?: number;
}

/** Which group of routes a request belongs to (for faults and recorded calls). */
export type DaytonaFakeRoute =
  | "create"
  | "get"
  | "delete"
  | "list"
  | "lifecycle"
  | "preview"
  | "toolbox"
  | "logs";

/** One request the fake received. */
export interface RecordedDaytonaCall {
  method: string;
  route: DaytonaFakeRoute;
  /** URL path and query, as sent. */
  path: string;
  /** A JSON body parsed; `undefined` otherwise. */
  body: unknown;
}

/** A fault for the next matching request(s). */
export type DaytonaFakeFault =
  /**
   * An error answer with this status (and `Retry-After` when given). With `applied`, the request
   * takes effect first (a create makes its sandbox) and only the answer is the error, as when a
   * gateway times out on a call the API still completed.
   */
  | { kind: "status"; status: number; retryAfter?: string; code?: string; applied?: boolean }
  /** A 200 answer whose body is not JSON. */
  | { kind: "malformed" }
  /** The request is served after `delayMs`. */
  | { kind: "slow"; delayMs: number }
  /** (logs only) the log WebSocket closes at once, without output, while the command runs on. */
  | { kind: "drop-stream" };

interface QueuedFault {
  fault: DaytonaFakeFault;
  route: DaytonaFakeRoute | undefined;
  remaining: number;
}

interface FakeCommand {
  id: string;
  command: string;
  exitCode: number | undefined;
  /** Framed log bytes so far. */
  log: Uint8Array[];
  stdout: string;
  stderr: string;
  output: string;
  done: Promise<void>;
  listeners: Set<(chunk: Uint8Array | null) => void>;
  stop: AbortController;
}

interface FakeSession {
  id: string;
  commands: Map<string, FakeCommand>;
}

interface FakeSandbox {
  id: string;
  name: string;
  state: string;
  createdAt: Date;
  body: Record<string, unknown>;
  labels: Record<string, string>;
  env: Record<string, string>;
  machine: Promise<FakeMachine>;
  sessions: Map<string, FakeSession>;
  /** When Daytona would destroy it (`ttlMinutes`). */
  destroyAt: number | undefined;
  /** While `state` is `creating`: how many more reads answer `creating` before it is `started`. */
  creatingReads: number;
  /** Preview proxies by sandbox port. */
  previews: Map<number, Promise<PreviewProxy>>;
}

/** A loopback HTTP server standing for a preview link's host. */
interface PreviewProxy {
  server: Server;
  url: string;
  token: string;
}

/** The header Daytona's preview proxy reads a private sandbox's token from. */
const previewTokenHeader = "x-daytona-preview-token";
// Hop-by-hop headers a proxy does not forward (RFC 9110, 7.6.1).
const hopByHopHeaders = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "host",
]);

const stdoutMarker = new Uint8Array([1, 1, 1]);
const stderrMarker = new Uint8Array([2, 2, 2]);

function frame(marker: Uint8Array, text: string): Uint8Array {
  const bytes = Buffer.from(text, "utf8");
  const framed = new Uint8Array(marker.byteLength + bytes.byteLength);
  framed.set(marker);
  framed.set(bytes, marker.byteLength);
  return framed;
}

/** The answer shape of Daytona's API and daemon errors. */
function errorAnswer(status: number, message: string, code?: string, source = "DAYTONA_API"): Response {
  return HttpResponse.json(
    {
      statusCode: status,
      message,
      ...(code === undefined ? {} : { code }),
      source,
      timestamp: new Date().toISOString(),
    },
    { status },
  );
}

/** Headers a proxy passes on: all but hop-by-hop ones and those named in `drop`. */
function forwardedHeaders(
  headers: IncomingMessage["headers"],
  drop: string[] = [],
): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || hopByHopHeaders.has(name) || drop.includes(name)) continue;
    kept[name] = value;
  }
  return kept;
}

/**
 * Serves one request to a preview link: 401 without the link's token (Daytona's proxy asks a
 * private sandbox's visitors to authenticate), else the request forwarded to the sandbox port;
 * 502 when nothing answers there.
 */
function forward(request: IncomingMessage, response: ServerResponse, token: string, target: URL): void {
  if (request.headers[previewTokenHeader] !== token) {
    request.resume();
    response.writeHead(401, { "content-type": "text/plain" }).end("preview token missing or wrong");
    return;
  }
  const outgoing = httpRequest(
    {
      host: target.hostname,
      port: target.port,
      method: request.method,
      path: request.url,
      headers: { ...forwardedHeaders(request.headers, [previewTokenHeader]), host: target.host },
    },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, forwardedHeaders(answer.headers));
      answer.pipe(response);
      answer.on("error", () => response.destroy());
    },
  );
  outgoing.on("error", () => {
    if (response.headersSent) response.destroy();
    else response.writeHead(502, { "content-type": "text/plain" }).end("nothing answers on the sandbox port");
  });
  request.pipe(outgoing);
}

/** The fake. Build it with {@link createDaytonaFake}. */
export class DaytonaFake {
  /** msw handlers answering for the API and the toolbox. */
  readonly handlers: RequestHandler[];
  /** The API base URL. */
  readonly apiUrl: string;
  readonly #apiKey: string;
  readonly #machines: FakeMachineFactory;
  readonly #pageSize: number;
  readonly #sandboxes = new Map<string, FakeSandbox>();
  readonly #calls: RecordedDaytonaCall[] = [];
  readonly #faults: QueuedFault[] = [];
  readonly #server: WebSocketServer;
  readonly #listening: Promise<number>;
  readonly #sockets = new Set<WebSocket>();
  /** `127.0.0.1:<port>` of every preview proxy and of the machine ports they forward to (passed through msw). */
  readonly #loopbackOrigins = new Set<string>();
  #port: number | undefined;
  #nextId = 1;
  #creatingReads = 0;

  constructor(options: DaytonaFakeOptions = {}) {
    this.apiUrl = (options.apiUrl ?? "https://daytona.fake/api").replace(/\/+$/, "");
    this.#apiKey = options.apiKey ?? "daytona-fake-key";
    this.#machines = options.machines ?? createLocalMachines();
    this.#pageSize = options.pageSize ?? 100;
    this.#server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    this.#listening = new Promise((resolve, reject) => {
      this.#server.once("listening", () => {
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve(this.#port);
      });
      this.#server.once("error", reject);
    });
    this.#listening.catch(() => {});
    this.#server.on("connection", (socket, request) => this.#onLogSocket(socket, request));
    const api = new URL(this.apiUrl);
    const apiPath = api.pathname.replace(/\/+$/, "");
    this.handlers = [
      http.all(`${api.origin}${apiPath}/*`, ({ request }) => this.#handleApi(request, apiPath)),
      http.all(
        ({ request }) => {
          const url = new URL(request.url);
          return (
            url.hostname === "127.0.0.1" &&
            this.#port !== undefined &&
            url.port === String(this.#port) &&
            url.pathname.startsWith("/toolbox/")
          );
        },
        ({ request }) => this.#handleToolbox(request),
      ),
      // Preview links and what they forward to are real loopback servers: msw lets them through.
      http.all(
        ({ request }) => {
          const url = new URL(request.url);
          return url.hostname === "127.0.0.1" && this.#loopbackOrigins.has(url.host);
        },
        () => passthrough(),
      ),
    ];
  }

  /** Requests received so far, oldest first. */
  get calls(): readonly RecordedDaytonaCall[] {
    return this.#calls;
  }

  /** Forgets the recorded requests. */
  clearCalls(): void {
    this.#calls.length = 0;
  }

  /** Answers the next matching request(s) with `fault`. */
  failNext(fault: DaytonaFakeFault, options: { route?: DaytonaFakeRoute; times?: number } = {}): void {
    this.#faults.push({ fault, route: options.route, remaining: options.times ?? 1 });
  }

  /** Drops faults not yet used. */
  clearFaults(): void {
    this.#faults.length = 0;
  }

  /**
   * The next sandbox created is answered in state `creating` (as Daytona answers a sandbox whose
   * runner is still starting it), and stays `creating` for `reads` more reads of it before it is
   * `started`: the SDK then polls it, as it does against Daytona.
   */
  startNextSlowly(reads: number): void {
    this.#creatingReads = reads;
  }

  /** Sandboxes that exist (any state but destroyed), after applying lifetimes that ran out. */
  async countLiveSandboxes(): Promise<number> {
    this.#expire();
    return [...this.#sandboxes.values()].filter((sandbox) => sandbox.state !== "destroyed").length;
  }

  /** What the create call of a sandbox carried (the body the SDK sent), by Daytona id. */
  createBody(id: string): Record<string, unknown> | undefined {
    return this.#sandboxes.get(id)?.body;
  }

  /** Ids of the sandboxes that exist. */
  liveSandboxIds(): string[] {
    this.#expire();
    return [...this.#sandboxes.values()].filter((sandbox) => sandbox.state !== "destroyed").map((s) => s.id);
  }

  /** Destroys every sandbox, closes the log server and releases the machines. */
  async close(): Promise<void> {
    await Promise.all([...this.#sandboxes.values()].map((sandbox) => this.#destroy(sandbox)));
    for (const socket of this.#sockets) socket.terminate();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#loopbackOrigins.clear();
    await this.#machines.dispose?.();
  }

  // ---- plumbing -----------------------------------------------------------------------------------

  #takeFault(route: DaytonaFakeRoute): DaytonaFakeFault | undefined {
    const index = this.#faults.findIndex((queued) => queued.route === undefined || queued.route === route);
    if (index < 0) return undefined;
    const queued = this.#faults[index] as QueuedFault;
    // A stream fault waits for the log stream; other faults do not apply to it.
    if ((queued.fault.kind === "drop-stream") !== (route === "logs")) return undefined;
    queued.remaining--;
    if (queued.remaining <= 0) this.#faults.splice(index, 1);
    return queued.fault;
  }

  async #record(request: Request, route: DaytonaFakeRoute, path: string): Promise<unknown> {
    let body: unknown;
    const type = request.headers.get("content-type") ?? "";
    if (type.includes("application/json"))
      body = await request
        .clone()
        .json()
        .catch(() => undefined);
    this.#calls.push({ method: request.method, route, path, body });
    return body;
  }

  #authorized(request: Request): boolean {
    return request.headers.get("authorization") === `Bearer ${this.#apiKey}`;
  }

  /** Applies a queued fault; returns an answer to send instead, or undefined to serve normally. */
  async #applyFault(route: DaytonaFakeRoute): Promise<Response | undefined> {
    return this.#answerFault(this.#takeFault(route));
  }

  /** The error answer of a status fault. */
  #faultAnswer(fault: { status: number; retryAfter?: string; code?: string }): Response {
    const response = errorAnswer(fault.status, `injected HTTP ${fault.status}`, fault.code);
    if (fault.retryAfter !== undefined) response.headers.set("retry-after", fault.retryAfter);
    return response;
  }

  async #answerFault(fault: DaytonaFakeFault | undefined): Promise<Response | undefined> {
    if (fault === undefined) return undefined;
    if (fault.kind === "slow") {
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      return undefined;
    }
    if (fault.kind === "malformed") {
      return new HttpResponse("<html>not json</html>", {
        status: 200,
        headers: { "content-type": "application/json" },
      });
    }
    if (fault.kind === "status") return this.#faultAnswer(fault);
    return undefined;
  }

  /** Destroys sandboxes whose `ttlMinutes` ran out, as Daytona's lifetime does. */
  #expire(): void {
    const now = Date.now();
    for (const sandbox of this.#sandboxes.values()) {
      if (sandbox.state !== "destroyed" && sandbox.destroyAt !== undefined && now >= sandbox.destroyAt) {
        void this.#destroy(sandbox);
      }
    }
  }

  async #destroy(sandbox: FakeSandbox): Promise<void> {
    if (sandbox.state === "destroyed") return;
    sandbox.state = "destroyed";
    const previews = [...sandbox.previews.values()];
    sandbox.previews.clear();
    for (const preview of previews) {
      const proxy = await preview.catch(() => undefined);
      if (proxy === undefined) continue;
      this.#loopbackOrigins.delete(new URL(proxy.url).host);
      proxy.server.closeAllConnections();
      await new Promise<void>((resolve) => proxy.server.close(() => resolve()));
    }
    for (const session of sandbox.sessions.values()) {
      for (const command of session.commands.values()) command.stop.abort();
    }
    sandbox.sessions.clear();
    await sandbox.machine.then((machine) => machine.destroy()).catch(() => {});
  }

  #find(idOrName: string): FakeSandbox | undefined {
    this.#expire();
    const byId = this.#sandboxes.get(idOrName);
    const found =
      byId ??
      [...this.#sandboxes.values()].find(
        (sandbox) => sandbox.name === idOrName && sandbox.state !== "destroyed",
      );
    return found === undefined || found.state === "destroyed" ? undefined : found;
  }

  async #dto(sandbox: FakeSandbox, full = true): Promise<Record<string, unknown>> {
    const port = await this.#listening;
    const body = sandbox.body;
    const resources = (key: string, fallback: number) =>
      typeof body[key] === "number" ? body[key] : fallback;
    return {
      id: sandbox.id,
      organizationId: "fake-organization",
      name: sandbox.name,
      user: "daytona",
      ...(full ? { env: sandbox.env } : {}),
      labels: sandbox.labels,
      public: false,
      networkBlockAll: body.networkBlockAll === true,
      ...(typeof body.networkAllowList === "string" ? { networkAllowList: body.networkAllowList } : {}),
      ...(typeof body.domainAllowList === "string" ? { domainAllowList: body.domainAllowList } : {}),
      target: typeof body.target === "string" ? body.target : "us",
      cpu: resources("cpu", 1),
      gpu: 0,
      memory: resources("memory", 1),
      disk: resources("disk", 3),
      state: sandbox.state,
      desiredState: sandbox.state === "destroyed" ? "destroyed" : "started",
      ...(typeof body.autoStopInterval === "number"
        ? { autoStopInterval: body.autoStopInterval }
        : { autoStopInterval: 15 }),
      ...(typeof body.autoDeleteInterval === "number" ? { autoDeleteInterval: body.autoDeleteInterval } : {}),
      ...(sandbox.destroyAt === undefined
        ? {}
        : { autoDestroyAt: new Date(sandbox.destroyAt).toISOString() }),
      createdAt: sandbox.createdAt.toISOString(),
      updatedAt: new Date().toISOString(),
      // List items carry no proxy URL (the SDK asks for it per item), full DTOs do.
      ...(full ? { toolboxProxyUrl: `http://127.0.0.1:${port}/toolbox` } : {}),
    };
  }

  // ---- the REST API ---------------------------------------------------------------------------------

  async #handleApi(request: Request, apiPath: string): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname.slice(apiPath.length);
    const segments = path
      .split("/")
      .filter((segment) => segment !== "")
      .map(decodeURIComponent);
    const method = request.method;
    let route: DaytonaFakeRoute = "lifecycle";
    if (segments[0] === "sandbox" && segments.length === 1) route = method === "POST" ? "create" : "list";
    else if (segments[0] === "sandbox" && segments.length === 2)
      route = method === "DELETE" ? "delete" : "get";
    else if (segments[0] === "sandbox" && segments[2] === "ports") route = "preview";
    const body = await this.#record(request, route, `${url.pathname}${url.search}`);
    if (!this.#authorized(request)) return errorAnswer(401, "Unauthorized");
    const fault = this.#takeFault(route);
    if (fault?.kind === "status" && fault.applied === true && route === "create") {
      // The sandbox is made; only the answer is lost.
      await this.#create(body);
      return this.#faultAnswer(fault);
    }
    const faulted = await this.#answerFault(fault);
    if (faulted !== undefined) return faulted;
    if (segments[0] !== "sandbox") return errorAnswer(404, `Cannot ${method} ${url.pathname}`);
    if (route === "create") return this.#create(body);
    if (route === "list") return this.#list(url);
    const sandbox = this.#find(segments[1] as string);
    if (sandbox === undefined) return errorAnswer(404, `Sandbox with ID or name ${segments[1]} not found`);
    if (route === "get") {
      // A sandbox being created starts after a number of reads (see startNextSlowly).
      if (sandbox.state === "creating" && --sandbox.creatingReads <= 0) sandbox.state = "started";
      return HttpResponse.json(await this.#dto(sandbox));
    }
    if (route === "preview") return this.#preview(sandbox, segments, method);
    if (route === "delete") {
      sandbox.state = "destroying";
      const answer = await this.#dto(sandbox);
      await this.#destroy(sandbox);
      return HttpResponse.json(answer);
    }
    const action = segments[2];
    if (action === "toolbox-proxy-url" && method === "GET") {
      return HttpResponse.json({ url: `http://127.0.0.1:${await this.#listening}/toolbox` });
    }
    if (action === "start" && method === "POST") {
      sandbox.state = "started";
      return HttpResponse.json(await this.#dto(sandbox));
    }
    if (action === "stop" && method === "POST") {
      for (const session of sandbox.sessions.values()) {
        for (const command of session.commands.values()) command.stop.abort();
      }
      sandbox.sessions.clear();
      // autoDeleteInterval 0: a stopped sandbox is deleted at once.
      if (sandbox.body.autoDeleteInterval === 0) await this.#destroy(sandbox);
      else sandbox.state = "stopped";
      return HttpResponse.json(await this.#dto(sandbox));
    }
    return errorAnswer(404, `Cannot ${method} ${url.pathname}`);
  }

  /** `GET /sandbox/{id}/ports/{port}/preview-url`: a link to this sandbox port's loopback proxy. */
  async #preview(sandbox: FakeSandbox, segments: string[], method: string): Promise<Response> {
    if (method !== "GET" || segments.length !== 5 || segments[4] !== "preview-url") {
      return errorAnswer(404, `Cannot ${method} /sandbox/${segments.slice(1).join("/")}`);
    }
    const port = Number(segments[3]);
    // Daytona previews ports 3000-9999.
    if (!Number.isInteger(port) || port < 3000 || port > 9999) {
      return errorAnswer(400, "port must be between 3000 and 9999");
    }
    if (sandbox.state !== "started") return errorAnswer(409, `sandbox is ${sandbox.state}`);
    let preview = sandbox.previews.get(port);
    if (preview === undefined) {
      preview = this.#startPreview(sandbox, port);
      sandbox.previews.set(port, preview);
      const current = preview;
      preview.catch(() => {
        if (sandbox.previews.get(port) === current) sandbox.previews.delete(port);
      });
    }
    try {
      const { url, token } = await preview;
      return HttpResponse.json({ sandboxId: sandbox.id, url, token });
    } catch {
      return errorAnswer(500, "the preview proxy could not start");
    }
  }

  /** Starts the proxy of a preview link: the token checked, everything else forwarded to the machine's port. */
  async #startPreview(sandbox: FakeSandbox, port: number): Promise<PreviewProxy> {
    const machine = await sandbox.machine;
    if (machine.exposePort === undefined) throw new Error("this machine exposes no ports");
    const target = new URL(await machine.exposePort(port));
    this.#loopbackOrigins.add(target.host);
    const token = crypto.randomUUID().replaceAll("-", "");
    const server = createServer((request, response) => forward(request, response, token, target));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port: proxyPort } = server.address() as AddressInfo;
    this.#loopbackOrigins.add(`127.0.0.1:${proxyPort}`);
    if (sandbox.state === "destroyed") {
      // Destroyed while the proxy started: nothing may keep listening for it.
      server.close();
      throw new Error("the sandbox was destroyed");
    }
    return { server, url: `http://127.0.0.1:${proxyPort}`, token };
  }

  async #create(body: unknown): Promise<Response> {
    if (body === null || typeof body !== "object")
      return errorAnswer(400, "request body must be a JSON object");
    const record = body as Record<string, unknown>;
    for (const key of ["cpu", "memory", "disk"]) {
      const value = record[key];
      if (value !== undefined && (typeof value !== "number" || !Number.isInteger(value) || value <= 0)) {
        return errorAnswer(400, `${key} must be a positive integer`);
      }
    }
    if (record.snapshot !== undefined && (record.cpu !== undefined || record.memory !== undefined)) {
      return errorAnswer(400, "Cannot specify Sandbox resources when using a snapshot");
    }
    const name = typeof record.name === "string" ? record.name : undefined;
    if (name !== undefined && this.#find(name) !== undefined) {
      return errorAnswer(409, `Sandbox with name ${name} already exists`);
    }
    const id = `fake-${String(this.#nextId++).padStart(6, "0")}-${crypto.randomUUID().slice(0, 8)}`;
    const env = (record.env ?? {}) as Record<string, string>;
    const labels = (record.labels ?? {}) as Record<string, string>;
    const ttlMinutes =
      typeof record.ttlMinutes === "number" && record.ttlMinutes > 0 ? record.ttlMinutes : undefined;
    const machine = this.#machines.start({ env: { ...env } });
    machine.catch(() => {});
    const creatingReads = this.#creatingReads;
    this.#creatingReads = 0;
    const sandbox: FakeSandbox = {
      id,
      name: name ?? id,
      state: creatingReads > 0 ? "creating" : "started",
      creatingReads,
      previews: new Map(),
      createdAt: new Date(),
      body: record,
      labels: { ...labels },
      env: { ...env },
      machine,
      sessions: new Map(),
      destroyAt: ttlMinutes === undefined ? undefined : Date.now() + ttlMinutes * 60_000,
    };
    try {
      await machine;
    } catch {
      return errorAnswer(500, "the runner could not start the sandbox");
    }
    this.#sandboxes.set(id, sandbox);
    return HttpResponse.json(await this.#dto(sandbox));
  }

  async #list(url: URL): Promise<Response> {
    this.#expire();
    let filter: Record<string, string> = {};
    const labels = url.searchParams.get("labels");
    if (labels !== null) {
      try {
        filter = JSON.parse(labels) as Record<string, string>;
      } catch {
        return errorAnswer(400, "labels must be a JSON object");
      }
    }
    const limit = Number(url.searchParams.get("limit") ?? this.#pageSize);
    const cursor = Number(url.searchParams.get("cursor") ?? 0);
    const matching = [...this.#sandboxes.values()].filter(
      (sandbox) =>
        sandbox.state !== "destroyed" &&
        Object.entries(filter).every(([key, value]) => sandbox.labels[key] === value),
    );
    const page = matching.slice(cursor, cursor + limit);
    const next = cursor + limit < matching.length ? String(cursor + limit) : null;
    return HttpResponse.json({
      items: await Promise.all(page.map((sandbox) => this.#dto(sandbox, false))),
      nextCursor: next,
    });
  }

  // ---- the toolbox API --------------------------------------------------------------------------------

  async #handleToolbox(request: Request): Promise<Response | undefined> {
    const url = new URL(request.url);
    const segments = url.pathname
      .split("/")
      .filter((segment) => segment !== "")
      .map(decodeURIComponent);
    // /toolbox/{sandboxId}/...
    const rest = segments.slice(2);
    const isLogStream =
      request.headers.get("upgrade")?.toLowerCase() === "websocket" && rest[0] === "process";
    if (isLogStream) {
      // The WebSocket handshake goes to the real loopback server.
      this.#calls.push({
        method: request.method,
        route: "logs",
        path: `${url.pathname}${url.search}`,
        body: undefined,
      });
      return passthrough();
    }
    const body = await this.#record(request, "toolbox", `${url.pathname}${url.search}`);
    if (!this.#authorized(request)) return errorAnswer(401, "Unauthorized", undefined, "DAYTONA_PROXY");
    const faulted = await this.#applyFault("toolbox");
    if (faulted !== undefined) return faulted;
    const sandbox = this.#find(segments[1] ?? "");
    if (sandbox === undefined) return errorAnswer(404, "sandbox not found", undefined, "DAYTONA_PROXY");
    if (sandbox.state !== "started")
      return errorAnswer(409, `sandbox is ${sandbox.state}`, undefined, "DAYTONA_PROXY");
    const machine = await sandbox.machine;
    const method = request.method;
    const route = rest.join("/");
    if ((route === "work-dir" || route === "user-home-dir") && method === "GET") {
      return HttpResponse.json({ dir: machine.workingDirectory });
    }
    if (rest[0] === "process") return this.#process(request, sandbox, machine, rest.slice(1), body);
    if (rest[0] === "files") return this.#files(request, machine, rest.slice(1).join("/"), url, body);
    return errorAnswer(404, `Cannot ${method} ${url.pathname}`, "NOT_FOUND", "DAYTONA_DAEMON");
  }

  async #process(
    request: Request,
    sandbox: FakeSandbox,
    machine: FakeMachine,
    rest: string[],
    body: unknown,
  ): Promise<Response> {
    const method = request.method;
    const json = (body ?? {}) as Record<string, unknown>;
    const daemonError = (status: number, message: string, code: string) =>
      errorAnswer(status, message, code, "DAYTONA_DAEMON");
    if (rest[0] === "execute" && method === "POST") {
      if (typeof json.command !== "string")
        return daemonError(400, "command is required", "INVALID_REQUEST_BODY");
      let output = "";
      const stop = new AbortController();
      const timeout =
        typeof json.timeout === "number" && json.timeout > 0
          ? setTimeout(() => stop.abort(), json.timeout * 1000)
          : undefined;
      try {
        const exitCode = await machine.run({
          commandLine: json.command,
          ...(typeof json.cwd === "string" ? { cwd: this.#absolute(machine, json.cwd) } : {}),
          ...(json.envs !== undefined ? { env: json.envs as Record<string, string> } : {}),
          signal: stop.signal,
          onStdout: (text) => {
            output += text;
          },
          onStderr: (text) => {
            output += text;
          },
        });
        return HttpResponse.json({ exitCode, result: output });
      } catch {
        if (stop.signal.aborted)
          return daemonError(408, "command execution timeout", "PROCESS_EXECUTION_TIMEOUT");
        return daemonError(400, "the command could not run", "BAD_REQUEST");
      } finally {
        clearTimeout(timeout);
      }
    }
    if (rest[0] !== "session") return daemonError(404, "not found", "NOT_FOUND");
    if (rest.length === 1 && method === "POST") {
      const sessionId = json.sessionId;
      if (typeof sessionId !== "string" || sessionId === "")
        return daemonError(400, "sessionId is required", "INVALID_REQUEST_BODY");
      if (sandbox.sessions.has(sessionId)) return daemonError(409, "session already exists", "CONFLICT");
      sandbox.sessions.set(sessionId, { id: sessionId, commands: new Map() });
      return new HttpResponse(null, { status: 201 });
    }
    if (rest.length === 1 && method === "GET") {
      return HttpResponse.json([...sandbox.sessions.values()].map((session) => this.#sessionDto(session)));
    }
    const session = sandbox.sessions.get(rest[1] ?? "");
    if (session === undefined) return daemonError(404, "session not found", "NOT_FOUND");
    if (rest.length === 2 && method === "GET") return HttpResponse.json(this.#sessionDto(session));
    if (rest.length === 2 && method === "DELETE") {
      for (const command of session.commands.values()) command.stop.abort();
      sandbox.sessions.delete(session.id);
      return new HttpResponse(null, { status: 204 });
    }
    if (rest[2] === "exec" && method === "POST") {
      if (typeof json.command !== "string")
        return daemonError(400, "command is required", "INVALID_REQUEST_BODY");
      const command = this.#startCommand(machine, session, json.command);
      if (json.runAsync === true || json.async === true)
        return HttpResponse.json({ cmdId: command.id }, { status: 202 });
      await command.done;
      return HttpResponse.json({
        cmdId: command.id,
        exitCode: command.exitCode,
        output: command.output,
        stdout: command.stdout,
        stderr: command.stderr,
      });
    }
    if (rest[2] === "command") {
      const command = session.commands.get(rest[3] ?? "");
      if (command === undefined) return daemonError(404, "command not found", "NOT_FOUND");
      if (rest.length === 4 && method === "GET") {
        return HttpResponse.json({
          id: command.id,
          command: command.command,
          ...(command.exitCode === undefined ? {} : { exitCode: command.exitCode }),
        });
      }
      if (rest[4] === "logs" && method === "GET") {
        return HttpResponse.json({ output: command.output, stdout: command.stdout, stderr: command.stderr });
      }
      if (rest[4] === "input" && method === "POST") {
        // The machine's commands read /dev/null or what their command line pipes in.
        return daemonError(422, "this fake delivers no input to a running command", "UNPROCESSABLE_ENTITY");
      }
    }
    return daemonError(404, "not found", "NOT_FOUND");
  }

  #sessionDto(session: FakeSession): Record<string, unknown> {
    return {
      sessionId: session.id,
      commands: [...session.commands.values()].map((command) => ({
        id: command.id,
        command: command.command,
        ...(command.exitCode === undefined ? {} : { exitCode: command.exitCode }),
      })),
    };
  }

  #startCommand(machine: FakeMachine, session: FakeSession, commandLine: string): FakeCommand {
    const command: FakeCommand = {
      id: crypto.randomUUID(),
      command: commandLine,
      exitCode: undefined,
      log: [],
      stdout: "",
      stderr: "",
      output: "",
      done: Promise.resolve(),
      listeners: new Set(),
      stop: new AbortController(),
    };
    const push = (chunk: Uint8Array) => {
      command.log.push(chunk);
      for (const listener of command.listeners) listener(chunk);
    };
    command.done = machine
      .run({
        commandLine,
        signal: command.stop.signal,
        onStdout: (text) => {
          command.stdout += text;
          command.output += text;
          push(frame(stdoutMarker, text));
        },
        onStderr: (text) => {
          command.stderr += text;
          command.output += text;
          push(frame(stderrMarker, text));
        },
      })
      .then(
        (exitCode) => {
          command.exitCode = exitCode;
        },
        (error: unknown) => {
          // Killed with its session or sandbox: Daytona records no exit code for it.
          if (!(SandportError.isInstance(error) && error.code === "aborted")) command.exitCode = 1;
        },
      )
      .finally(() => {
        for (const listener of command.listeners) listener(null);
        command.listeners.clear();
      });
    session.commands.set(command.id, command);
    return command;
  }

  /** A log WebSocket: replays what the command printed so far, follows it, closes at its end. */
  #onLogSocket(socket: WebSocket, request: IncomingMessage): void {
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    socket.on("error", () => {});
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const segments = url.pathname
      .split("/")
      .filter((segment) => segment !== "")
      .map(decodeURIComponent);
    // /toolbox/{id}/process/session/{sessionId}/command/{commandId}/logs
    if (request.headers.authorization !== `Bearer ${this.#apiKey}`) {
      socket.close(4001, "unauthorized");
      return;
    }
    const sandbox = this.#find(segments[1] ?? "");
    const command = sandbox?.sessions.get(segments[4] ?? "")?.commands.get(segments[6] ?? "");
    if (command === undefined || segments[7] !== "logs") {
      socket.close(4004, "not found");
      return;
    }
    if (this.#takeFault("logs")?.kind === "drop-stream") {
      socket.terminate();
      return;
    }
    for (const chunk of command.log) socket.send(chunk);
    if (command.exitCode !== undefined || command.stop.signal.aborted) {
      void command.done.then(() => socket.close(1000));
      return;
    }
    const listener = (chunk: Uint8Array | null) => {
      if (chunk === null) socket.close(1000);
      else socket.send(chunk);
    };
    command.listeners.add(listener);
    socket.on("close", () => command.listeners.delete(listener));
  }

  // ---- files ------------------------------------------------------------------------------------------

  #absolute(machine: FakeMachine, path: string): string {
    return path.startsWith("/")
      ? normalizeAbsolutePath(path)
      : normalizeAbsolutePath(`${machine.workingDirectory}/${path}`);
  }

  /** The daemon's answer for a failed file call on `path`. */
  #fileError(machine: FakeMachine, path: string, error: unknown): Response {
    // The fake's sandbox user may use only the working area: elsewhere is what a root-owned path is on Daytona.
    if (!machine.isAccessible(path))
      return errorAnswer(403, `permission denied: ${path}`, "FILE_ACCESS_DENIED", "DAYTONA_DAEMON");
    if (SandportError.isInstance(error) && error.code === "not_found") {
      return errorAnswer(404, `file not found: ${path}`, "FILE_NOT_FOUND", "DAYTONA_DAEMON");
    }
    if (SandportError.isInstance(error) && error.code === "output_limit") {
      return errorAnswer(413, `too large: ${path}`, undefined, "DAYTONA_DAEMON");
    }
    return errorAnswer(400, `cannot do that with ${path}`, "BAD_REQUEST", "DAYTONA_DAEMON");
  }

  #fileInfo(info: FileInfo): Record<string, unknown> {
    const mode =
      info.type === "directory"
        ? "drwxr-xr-x"
        : info.type === "symlink"
          ? "Lrwxrwxrwx"
          : info.type === "file"
            ? "-rw-r--r--"
            : "prw-r--r--";
    const time = info.modifiedAt.toISOString();
    return {
      name: info.name,
      isDir: info.type === "directory",
      size: info.size,
      mode,
      permissions: `0${mode === "drwxr-xr-x" ? "755" : "644"}`,
      modTime: time,
      modifiedAt: time,
      owner: "daytona",
      group: "daytona",
    };
  }

  async #files(
    request: Request,
    machine: FakeMachine,
    route: string,
    url: URL,
    body: unknown,
  ): Promise<Response> {
    const method = request.method;
    const query = (name: string) => url.searchParams.get(name);
    const pathOf = (name: string) => {
      const value = query(name);
      return value === null || value === "" ? undefined : this.#absolute(machine, value);
    };
    const missing = () => errorAnswer(400, "path is required", "INVALID_REQUEST_BODY", "DAYTONA_DAEMON");
    if (route === "bulk-download" && method === "POST") {
      const paths = (body as { paths?: unknown } | undefined)?.paths;
      if (!Array.isArray(paths))
        return errorAnswer(400, "paths is required", "INVALID_REQUEST_BODY", "DAYTONA_DAEMON");
      return this.#download(machine, paths.map(String));
    }
    if (route === "bulk-upload" && method === "POST") return this.#upload(request, machine);
    if (route === "info" && method === "GET") {
      const path = pathOf("path");
      if (path === undefined) return missing();
      try {
        if (!machine.isAccessible(path)) throw new Error("outside");
        return HttpResponse.json(this.#fileInfo(await machine.statFile(path)));
      } catch (error) {
        return this.#fileError(machine, path, error);
      }
    }
    if (route === "" && method === "GET") {
      const path = pathOf("path") ?? machine.workingDirectory;
      try {
        if (!machine.isAccessible(path)) throw new Error("outside");
        const entries = await machine.listFiles(path);
        return HttpResponse.json(entries.map((entry) => this.#fileInfo(entry)));
      } catch (error) {
        return this.#fileError(machine, path, error);
      }
    }
    if (route === "" && method === "DELETE") {
      const path = pathOf("path");
      if (path === undefined) return missing();
      try {
        if (!machine.isAccessible(path) || path === machine.workingDirectory) throw new Error("outside");
        await machine.removeFile(path, query("recursive") === "true");
        return new HttpResponse(null, { status: 204 });
      } catch (error) {
        return this.#fileError(machine, path, error);
      }
    }
    if (route === "folder" && method === "POST") {
      const path = pathOf("path");
      if (path === undefined) return missing();
      try {
        if (!machine.isAccessible(path)) throw new Error("outside");
        if (path !== machine.workingDirectory) await machine.makeDirectory(path);
        return new HttpResponse(null, { status: 201 });
      } catch (error) {
        return this.#fileError(machine, path, error);
      }
    }
    if (route === "move" && method === "POST") {
      const source = pathOf("source");
      const destination = pathOf("destination");
      if (source === undefined || destination === undefined) return missing();
      try {
        if (!machine.isAccessible(destination)) throw new Error("outside");
        if (!machine.isAccessible(source)) return this.#fileError(machine, source, undefined);
        await machine.renameFile(source, destination);
        return new HttpResponse(null, { status: 200 });
      } catch (error) {
        return this.#fileError(machine, machine.isAccessible(destination) ? source : destination, error);
      }
    }
    return errorAnswer(404, `Cannot ${method} ${url.pathname}`, "NOT_FOUND", "DAYTONA_DAEMON");
  }

  /** Answers `multipart/form-data`: a `file` part per readable path, an `error` part (JSON) otherwise. */
  async #download(machine: FakeMachine, paths: string[]): Promise<Response> {
    const boundary = `daytona-fake-${crypto.randomUUID()}`;
    const parts: Buffer[] = [];
    for (const source of paths) {
      const path = this.#absolute(machine, source);
      let data: Uint8Array | undefined;
      let failure: Response | undefined;
      try {
        if (!machine.isAccessible(path)) throw new Error("outside");
        data = await machine.readFile(path);
      } catch (error) {
        failure = this.#fileError(machine, path, error);
      }
      const name = failure === undefined ? "file" : "error";
      const type = failure === undefined ? "application/octet-stream" : "application/json";
      const payload =
        failure === undefined ? Buffer.from(data as Uint8Array) : Buffer.from(await failure.text());
      parts.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${source.replaceAll('"', "%22")}"\r\n` +
            `Content-Type: ${type}\r\nContent-Length: ${payload.byteLength}\r\n\r\n`,
        ),
        payload,
        Buffer.from("\r\n"),
      );
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    return new HttpResponse(Buffer.concat(parts), {
      status: 200,
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    });
  }

  /** Reads `files[i].path` / `files[i].file` pairs and writes each file, creating parents. */
  async #upload(request: Request, machine: FakeMachine): Promise<Response> {
    let form: FormData;
    try {
      form = await request.formData();
    } catch {
      return errorAnswer(
        400,
        "the body is not multipart form data",
        "INVALID_REQUEST_BODY",
        "DAYTONA_DAEMON",
      );
    }
    const uploads: { path: string; file: Blob }[] = [];
    for (let index = 0; ; index++) {
      const path = form.get(`files[${index}].path`);
      const file = form.get(`files[${index}].file`);
      if (path === null && file === null) break;
      if (typeof path !== "string" || file === null || typeof file === "string") {
        return errorAnswer(400, `files[${index}] is incomplete`, "INVALID_REQUEST_BODY", "DAYTONA_DAEMON");
      }
      uploads.push({ path, file });
    }
    for (const upload of uploads) {
      const path = this.#absolute(machine, upload.path);
      try {
        if (!machine.isAccessible(path)) throw new Error("outside");
        await machine.writeFile(path, new Uint8Array(await upload.file.arrayBuffer()));
      } catch (error) {
        return this.#fileError(machine, path, error);
      }
    }
    return new HttpResponse(null, { status: 200 });
  }
}

/** Creates a {@link DaytonaFake}. Its log server starts listening on 127.0.0.1 at once; `close()` stops it. */
export function createDaytonaFake(options: DaytonaFakeOptions = {}): DaytonaFake {
  return new DaytonaFake(options);
}
