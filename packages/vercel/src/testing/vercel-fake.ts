/**
 * A stateful fake of the Vercel Sandbox API (`https://vercel.com/api`, the origin `@vercel/sandbox`
 * 3.5 always calls) as msw handlers. It keeps sandboxes, their sessions and commands, answers with
 * the shapes the SDK validates, streams command output as NDJSON while the command runs, parses the
 * gzipped tar of `fs/write` for real, and runs every command for real in a VM (by default one
 * `@sandport/local` sandbox per session; see `local-vm.ts` for how `/vercel/sandbox` is mapped).
 * A session stops at its `timeout`; a stopped session answers 410. Every request is recorded, and
 * faults can be queued for the next requests.
 *
 * Ports declared at create (`ports`) get routes (`{ port, subdomain, url }`), and the sandbox's
 * public domains (`https://<subdomain>.vercel.run`, what the SDK's `domain(port)` gives) are served
 * by msw too: a request there is forwarded to the port inside the VM (through the VM's
 * `exposePort`), and answers 502 when nothing listens there or the session has stopped, 404 for a
 * subdomain the fake never minted. Only clients whose requests msw intercepts (this process's
 * `fetch` and `http`) reach them.
 *
 * Assumptions where Vercel's documentation is silent (see the package README): the kill route
 * signals the command's process group (the command and the processes it started), and refuses a
 * command that has already finished with 400 (the docs say only that the command "must still be
 * running"); a command ended by a signal reports 128 + the signal number as its exit code.
 *
 * ```ts
 * const vercel = createVercelFake({ token: "test-token", teamId: "team_test", projectId: "prj_test" });
 * const server = setupServer(...vercel.handlers);
 * server.listen({ onUnhandledFrame: "error" }); // before Sandbox.create
 * ```
 */
import { randomBytes } from "node:crypto";
import { bypass, HttpResponse, http, type RequestHandler } from "msw";
import { createLocalVmExecutor } from "./local-vm.ts";
import { readGzippedTar } from "./tar-reader.ts";
import { type FakeVm, FakeVmCwdError, type FakeVmExecutor, type FakeVmProcess } from "./vercel-fake-vm.ts";

/** The API origin the SDK calls. */
export const vercelApiBase = "https://vercel.com/api";

/** The parent domain of sandboxes' public domains (the SDK builds `https://<subdomain>.vercel.run`). */
export const vercelRunDomain = "vercel.run";

/** Most ports one sandbox may declare (the SDK's documented limit). */
const maxPorts = 15;

/** Routes of the API, for aiming a fault and reading recorded calls. */
export type VercelRoute =
  | "create"
  | "get"
  | "list"
  | "delete"
  | "command"
  | "command-get"
  | "command-logs"
  | "command-kill"
  | "fs-read"
  | "fs-write"
  | "fs-mkdir"
  | "stop"
  /** A request to a sandbox's public domain (`*.vercel.run`), not to the API. */
  | "port"
  | "other";

/** One way to fail. */
export type VercelFault =
  /** An error answer with Vercel's body `{ error: { code, message } }` (and `Retry-After` when given). */
  | { kind: "status"; status: number; code?: string; retryAfter?: string }
  /** The connection fails before any answer (`fetch` rejects). */
  | { kind: "network-error" }
  /**
   * A body that is not the route's JSON, with `status` (default 200): the start of a JSON document
   * (`"truncated-json"`, the default) or an HTML error page such as a proxy in between would send
   * (`"html"`), which echoes the request's Authorization header, so a test can check that no body
   * text reaches an error.
   */
  | { kind: "malformed"; status?: number; body?: "truncated-json" | "html" }
  /** create: the sandbox is created, but the answer carries no routes for its declared ports. */
  | { kind: "missing-routes" }
  /** The request is served, `delayMs` late. */
  | { kind: "slow"; delayMs: number }
  /** Command logs and waited commands: the stream sends its first line, then the connection drops. */
  | { kind: "drop-stream" };

/** Options of {@link createVercelFake}. */
export interface VercelFakeOptions {
  /** The bearer token the fake accepts. */
  token: string;
  /** The team (`teamId` query parameter) the token belongs to. */
  teamId: string;
  /** The project sandboxes are created in. */
  projectId: string;
  /** Runs commands and holds files. Default: {@link createLocalVmExecutor} with local's defaults. */
  executor?: FakeVmExecutor;
  /** Longest `timeout` accepted, ms. Default 5 hours. */
  maxTimeoutMs?: number;
  /** Most vCPUs accepted. Default 8. */
  maxVcpus?: number;
}

/** One request the fake received. */
export interface RecordedVercelCall {
  method: string;
  route: VercelRoute;
  /** URL path below the origin, e.g. `/api/v3/sandboxes`. */
  path: string;
  query: Record<string, string[]>;
  /** A JSON body parsed; a tar body as its entries' names; `undefined` when empty. */
  body: unknown;
  /** Whether the Authorization header carried the accepted token (the token itself is never kept). */
  authorized: boolean;
}

interface LogLine {
  stream: "stdout" | "stderr";
  data: string;
}

interface FakeCommand {
  json: {
    id: string;
    name: string;
    args: string[];
    cwd: string;
    sessionId: string;
    exitCode: number | null;
    startedAt: number;
    durationMs?: number;
  };
  logs: LogLine[];
  listeners: Set<() => void>;
  process: FakeVmProcess | undefined;
  done: Promise<void>;
}

interface FakeSession {
  json: Record<string, unknown> & { id: string; status: string; timeout: number; cwd: string };
  sandboxName: string;
  vm: FakeVm | undefined;
  commands: Map<string, FakeCommand>;
  timer: ReturnType<typeof setTimeout> | undefined;
  stopped: Promise<void>;
  markStopped: () => void;
}

interface FakeRoute {
  port: number;
  subdomain: string;
  url: string;
}

interface FakeSandbox {
  json: Record<string, unknown> & { name: string; createdAt: number; tags?: Record<string, string> };
  env: Record<string, string>;
  routes: FakeRoute[];
  session: FakeSession;
  projectId: string;
}

interface QueuedFault {
  fault: VercelFault;
  route: VercelRoute | undefined;
  remaining: number;
}

const ndjson = "application/x-ndjson";

function errorResponse(
  status: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
): Response {
  return HttpResponse.json(
    { error: { code, message } },
    { status, ...(headers === undefined ? {} : { headers }) },
  );
}

function routeOf(method: string, path: string): VercelRoute {
  const below = path.replace(/^\/api/, "");
  if (method === "POST" && /^\/v[23]\/sandboxes$/.test(below)) return "create";
  if (method === "GET" && below === "/v2/sandboxes") return "list";
  const session = /^\/v2\/sandboxes\/sessions\/[^/]+\/(.+)$/.exec(below)?.[1];
  if (session !== undefined) {
    if (method === "POST" && session === "cmd") return "command";
    if (method === "GET" && /^cmd\/[^/]+$/.test(session)) return "command-get";
    if (method === "GET" && /^cmd\/[^/]+\/logs$/.test(session)) return "command-logs";
    if (method === "POST" && /^cmd\/[^/]+\/kill$/.test(session)) return "command-kill";
    if (method === "POST" && session === "fs/read") return "fs-read";
    if (method === "POST" && session === "fs/write") return "fs-write";
    if (method === "POST" && session === "fs/mkdir") return "fs-mkdir";
    if (method === "POST" && session === "stop") return "stop";
    return "other";
  }
  if (/^\/v2\/sandboxes\/(?!sessions\/)[^/]+$/.test(below)) {
    if (method === "GET") return "get";
    if (method === "DELETE") return "delete";
  }
  return "other";
}

const signalNames: Record<
  number,
  "SIGHUP" | "SIGINT" | "SIGQUIT" | "SIGKILL" | "SIGTERM" | "SIGUSR1" | "SIGUSR2"
> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  9: "SIGKILL",
  10: "SIGUSR1",
  12: "SIGUSR2",
  15: "SIGTERM",
};

/** Resolves `path` against `cwd` like POSIX (`..` at the root stays there). */
function resolvePath(cwd: string, path: string): string {
  const joined = path.startsWith("/") ? path : `${cwd}/${path}`;
  const parts: string[] = [];
  for (const segment of joined.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") parts.pop();
    else parts.push(segment);
  }
  return `/${parts.join("/")}`;
}

/** The fake Vercel API. Build it with {@link createVercelFake}. */
export class VercelFake {
  /** msw handlers answering for `https://vercel.com/api`. */
  readonly handlers: RequestHandler[];
  readonly #options: VercelFakeOptions;
  readonly #executor: FakeVmExecutor;
  readonly #sandboxes = new Map<string, FakeSandbox>();
  readonly #sessions = new Map<string, FakeSession>();
  readonly #calls: RecordedVercelCall[] = [];
  readonly #faults: QueuedFault[] = [];
  /** Routes by subdomain, to the sandbox (by name) and port they lead to. */
  readonly #routes = new Map<string, { sandboxName: string; port: number }>();
  #closed = false;

  constructor(options: VercelFakeOptions) {
    this.#options = options;
    this.#executor = options.executor ?? createLocalVmExecutor();
    this.handlers = [
      http.all(`${vercelApiBase}/*`, ({ request }) => this.#handle(request)),
      http.all(
        ({ request }) => new URL(request.url).hostname.endsWith(`.${vercelRunDomain}`),
        ({ request }) => this.#handlePort(request),
      ),
    ];
  }

  /** Requests received so far, oldest first. */
  get calls(): readonly RecordedVercelCall[] {
    return this.#calls;
  }

  /** Forgets the recorded requests. */
  clearCalls(): void {
    this.#calls.length = 0;
  }

  /** Answers the next `times` (default 1) requests to `route` (default: any) with `fault`. */
  failNext(fault: VercelFault, options: { route?: VercelRoute; times?: number } = {}): void {
    this.#faults.push({ fault, route: options.route, remaining: options.times ?? 1 });
  }

  /** Drops faults not yet used. */
  clearFaults(): void {
    this.#faults.length = 0;
  }

  /** Sandboxes whose session is pending or running. */
  async countLiveSandboxes(): Promise<number> {
    return [...this.#sandboxes.values()].filter((sandbox) => this.#isLive(sandbox.session)).length;
  }

  /** Names of the sandboxes the fake holds (live or stopped, not deleted). */
  sandboxNames(): string[] {
    return [...this.#sandboxes.keys()];
  }

  /** Stops every session and releases the executor. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#sessions.values()].map((session) => this.#stopSession(session)));
    await this.#executor.dispose?.();
  }

  #isLive(session: FakeSession): boolean {
    return session.json.status === "running" || session.json.status === "pending";
  }

  #takeFault(route: VercelRoute): VercelFault | undefined {
    const index = this.#faults.findIndex((entry) => entry.route === undefined || entry.route === route);
    const entry = this.#faults[index];
    if (entry === undefined) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.#faults.splice(index, 1);
    return entry.fault;
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const route = routeOf(request.method, url.pathname);
    const raw = new Uint8Array(await request.arrayBuffer());
    const authorized = request.headers.get("authorization") === `Bearer ${this.#options.token}`;
    const query: Record<string, string[]> = {};
    for (const [key, value] of url.searchParams) {
      query[key] = [...(query[key] ?? []), value];
    }
    let body: unknown;
    let recordedBody: unknown;
    if (route === "fs-write") {
      recordedBody = raw.byteLength === 0 ? undefined : { gzip: raw.byteLength };
    } else if (raw.byteLength > 0) {
      try {
        body = JSON.parse(new TextDecoder().decode(raw));
      } catch {
        body = undefined;
      }
      recordedBody = body;
    }
    this.#calls.push({
      method: request.method,
      route,
      path: url.pathname,
      query,
      body: recordedBody,
      authorized,
    });

    const fault = this.#takeFault(route);
    let dropStream = false;
    let omitRoutes = false;
    if (fault !== undefined) {
      switch (fault.kind) {
        case "status":
          return errorResponse(
            fault.status,
            fault.code ?? "injected_failure",
            "injected failure",
            fault.retryAfter === undefined ? undefined : { "retry-after": fault.retryAfter },
          );
        case "network-error":
          return HttpResponse.error();
        case "malformed":
          if (fault.body === "html") {
            const echoed = request.headers.get("authorization") ?? "";
            return new Response(
              `<!DOCTYPE html><html><head><title>Bad Gateway</title></head><body><h1>Bad Gateway</h1><pre>${request.method} ${url.pathname}\nAuthorization: ${echoed}</pre></body></html>`,
              { status: fault.status ?? 200, headers: { "content-type": "text/html; charset=utf-8" } },
            );
          }
          return new Response('{"sandbox": ', {
            status: fault.status ?? 200,
            headers: { "content-type": "application/json" },
          });
        case "missing-routes":
          omitRoutes = true;
          break;
        case "slow":
          await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
          break;
        case "drop-stream":
          dropStream = true;
          break;
      }
    }
    if (!authorized) return errorResponse(401, "unauthorized", "The request is missing a valid token");
    if (url.searchParams.get("teamId") !== this.#options.teamId) {
      return errorResponse(403, "forbidden", "You don't have access to this team");
    }
    if (this.#closed) return errorResponse(503, "unavailable", "the fake is closed");
    const below = url.pathname.replace(/^\/api/, "");
    try {
      switch (route) {
        case "create":
          return await this.#create(body, below.startsWith("/v2/"), omitRoutes);
        case "list":
          return this.#list(url.searchParams);
        case "get":
        case "delete": {
          const name = decodeURIComponent(below.slice("/v2/sandboxes/".length));
          const sandbox = this.#sandboxes.get(name);
          const project = url.searchParams.get("projectId");
          if (sandbox === undefined || (project !== null && project !== sandbox.projectId)) {
            return errorResponse(404, "not_found", "Sandbox not found");
          }
          if (route === "delete") {
            await this.#stopSession(sandbox.session);
            this.#sandboxes.delete(name);
            this.#sessions.delete(sandbox.session.json.id);
            for (const { subdomain } of sandbox.routes) this.#routes.delete(subdomain);
            return HttpResponse.json({ sandbox: this.#sandboxJson(sandbox) });
          }
          return HttpResponse.json({
            sandbox: this.#sandboxJson(sandbox),
            session: sandbox.session.json,
            routes: sandbox.routes,
          });
        }
        default:
          return await this.#sessionRoute(route, below, body, raw, request, dropStream);
      }
    } catch (error) {
      return errorResponse(500, "internal_error", error instanceof Error ? error.message : String(error));
    }
  }

  #sandboxJson(sandbox: FakeSandbox): Record<string, unknown> {
    return { ...sandbox.json, status: sandbox.session.json.status, updatedAt: Date.now() };
  }

  async #create(body: unknown, legacy: boolean, omitRoutes: boolean): Promise<Response> {
    const input = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
    if (input.projectId !== this.#options.projectId)
      return errorResponse(404, "not_found", "Project not found");
    const timeout = input.timeout ?? 300_000;
    const maxTimeout = this.#options.maxTimeoutMs ?? 5 * 60 * 60 * 1000;
    if (typeof timeout !== "number" || !Number.isInteger(timeout) || timeout < 1 || timeout > maxTimeout) {
      return errorResponse(400, "bad_request", `timeout must be an integer between 1 and ${maxTimeout}`);
    }
    const resources = input.resources as { vcpus?: unknown } | undefined;
    const vcpus = resources?.vcpus ?? 2;
    if (
      typeof vcpus !== "number" ||
      !Number.isInteger(vcpus) ||
      vcpus < 1 ||
      vcpus > (this.#options.maxVcpus ?? 8)
    ) {
      return errorResponse(400, "bad_request", "resources.vcpus is out of range");
    }
    const tags = (input.tags ?? undefined) as Record<string, string> | undefined;
    if (tags !== undefined && Object.keys(tags).length > 5) {
      return errorResponse(400, "bad_request", "at most 5 tags");
    }
    const ports = input.ports ?? [];
    if (
      !Array.isArray(ports) ||
      ports.length > maxPorts ||
      new Set(ports).size !== ports.length ||
      !ports.every((port) => Number.isInteger(port) && port >= 1 && port <= 65_535)
    ) {
      return errorResponse(400, "bad_request", `ports: at most ${maxPorts} distinct ports from 1 to 65535`);
    }
    const policy = input.networkPolicy as Record<string, unknown> | undefined;
    const name = typeof input.name === "string" ? input.name : `sbx-${randomBytes(10).toString("hex")}`;
    if (this.#sandboxes.has(name))
      return errorResponse(409, "sandbox_exists", "a sandbox with this name exists");
    const now = Date.now();
    const session = this.#newSession(name, timeout, vcpus, input.region, policy);
    const sandbox: FakeSandbox = {
      projectId: this.#options.projectId,
      env: { ...((input.env ?? {}) as Record<string, string>) },
      routes: (ports as number[]).map((port) => {
        const subdomain = `sb-${randomBytes(8).toString("hex")}`;
        return { port, subdomain, url: `https://${subdomain}.${vercelRunDomain}` };
      }),
      session,
      json: {
        name,
        persistent: input.persistent === true,
        region: typeof input.region === "string" ? input.region : "iad1",
        ...(Array.isArray(input.failoverRegions) ? { failoverRegions: input.failoverRegions } : {}),
        vcpus,
        memory: vcpus * 2048,
        timeout,
        createdAt: now,
        updatedAt: now,
        currentSessionId: session.json.id,
        status: "running",
        cwd: "/vercel/sandbox",
        ...(legacy && typeof input.runtime === "string" ? { runtime: input.runtime } : {}),
        ...(typeof input.image === "string" ? { image: input.image } : {}),
        ...(tags === undefined ? {} : { tags: { ...tags } }),
        ...(policy === undefined ? {} : { networkPolicy: this.#policyJson(policy) }),
      },
    };
    const open = policy === undefined || policy.mode === "allow-all";
    try {
      session.vm = await this.#executor.start({ network: open ? "open" : "none" });
    } catch (error) {
      return errorResponse(500, "sandbox_failed", `the VM did not start: ${String(error)}`);
    }
    session.json.status = "running";
    session.json.startedAt = Date.now();
    this.#sandboxes.set(name, sandbox);
    this.#sessions.set(session.json.id, session);
    for (const { subdomain, port } of sandbox.routes)
      this.#routes.set(subdomain, { sandboxName: name, port });
    session.timer = setTimeout(() => void this.#stopSession(session), timeout);
    session.timer.unref?.();
    return HttpResponse.json({
      sandbox: this.#sandboxJson(sandbox),
      session: session.json,
      routes: omitRoutes ? [] : sandbox.routes,
    });
  }

  /**
   * A request to `https://<subdomain>.vercel.run`: forwarded to the route's port inside the VM.
   * Public, as Vercel's are: no token is checked.
   */
  async #handlePort(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const raw =
      request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
    this.#calls.push({
      method: request.method,
      route: "port",
      path: url.pathname,
      query: {},
      body: undefined,
      authorized: false,
    });
    const text = (status: number, message: string) =>
      new Response(message, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
    const target = this.#routes.get(url.hostname.slice(0, -`.${vercelRunDomain}`.length));
    const sandbox = target === undefined ? undefined : this.#sandboxes.get(target.sandboxName);
    if (target === undefined || sandbox === undefined) return text(404, "Not Found");
    const vm = sandbox.session.vm;
    if (!this.#isLive(sandbox.session) || vm?.exposePort === undefined) return text(502, "Bad Gateway");
    try {
      const base = await vm.exposePort(target.port);
      const headers = new Headers(request.headers);
      headers.delete("host");
      // bypass(): msw lets the forwarded request through to the VM's loopback listener.
      const answer = await fetch(
        bypass(new URL(`${url.pathname}${url.search}`, base), {
          method: request.method,
          headers,
          ...(raw === undefined ? {} : { body: raw }),
          redirect: "manual",
        }),
      );
      const answerHeaders = new Headers(answer.headers);
      // fetch has decoded the body already.
      for (const name of ["content-encoding", "content-length", "transfer-encoding"])
        answerHeaders.delete(name);
      return new Response(answer.body, { status: answer.status, headers: answerHeaders });
    } catch {
      // Nothing listens on the port (the connection was refused or reset).
      return text(502, "Bad Gateway");
    }
  }

  /** The API answers policies in its legacy shape (`mode: "custom"`, allowedDomains, allowedCIDRs). */
  #policyJson(policy: Record<string, unknown>): Record<string, unknown> {
    if (policy.mode === "allow-all" || policy.mode === "deny-all") return { mode: policy.mode };
    const allow = policy.allow;
    const subnets = policy.subnets as { allow?: string[]; deny?: string[] } | undefined;
    return {
      mode: "custom",
      ...(Array.isArray(allow) ? { allowedDomains: allow } : {}),
      ...(subnets?.allow === undefined ? {} : { allowedCIDRs: subnets.allow }),
      ...(subnets?.deny === undefined ? {} : { deniedCIDRs: subnets.deny }),
    };
  }

  #newSession(
    name: string,
    timeout: number,
    vcpus: number,
    region: unknown,
    policy: Record<string, unknown> | undefined,
  ): FakeSession {
    const now = Date.now();
    let markStopped = () => {};
    const stopped = new Promise<void>((resolve) => {
      markStopped = resolve;
    });
    return {
      sandboxName: name,
      vm: undefined,
      commands: new Map(),
      timer: undefined,
      stopped,
      markStopped,
      json: {
        id: `sess_${randomBytes(10).toString("hex")}`,
        memory: vcpus * 2048,
        vcpus,
        region: typeof region === "string" ? region : "iad1",
        timeout,
        status: "pending",
        requestedAt: now,
        createdAt: now,
        updatedAt: now,
        cwd: "/vercel/sandbox",
        ...(policy === undefined ? {} : { networkPolicy: this.#policyJson(policy) }),
      },
    };
  }

  async #stopSession(session: FakeSession): Promise<void> {
    if (session.json.status === "stopped" || session.json.status === "stopping") return;
    clearTimeout(session.timer);
    session.json.status = "stopping";
    session.json.requestedStopAt = Date.now();
    session.markStopped();
    const vm = session.vm;
    session.vm = undefined;
    await vm?.stop().catch(() => {});
    session.json.status = "stopped";
    session.json.stoppedAt = Date.now();
    session.json.updatedAt = Date.now();
  }

  #list(parameters: URLSearchParams): Response {
    const project = parameters.get("project");
    const tags = parameters.getAll("tags").map((tag) => {
      const colon = tag.indexOf(":");
      return [tag.slice(0, colon), tag.slice(colon + 1)] as const;
    });
    const prefix = parameters.get("namePrefix") ?? "";
    const matching = [...this.#sandboxes.values()]
      .filter((sandbox) => project === null || sandbox.projectId === project)
      .filter((sandbox) => sandbox.json.name.startsWith(prefix))
      .filter((sandbox) => tags.every(([key, value]) => sandbox.json.tags?.[key] === value))
      .sort((left, right) => right.json.createdAt - left.json.createdAt);
    const limit = Math.max(1, Math.min(100, Number(parameters.get("limit") ?? "50") || 50));
    const start = Number(parameters.get("cursor") ?? "0") || 0;
    const page = matching.slice(start, start + limit);
    const next = start + limit < matching.length ? String(start + limit) : null;
    return HttpResponse.json({
      sandboxes: page.map((sandbox) => this.#sandboxJson(sandbox)),
      pagination: { count: page.length, next },
    });
  }

  async #sessionRoute(
    route: VercelRoute,
    below: string,
    body: unknown,
    raw: Uint8Array,
    request: Request,
    dropStream: boolean,
  ): Promise<Response> {
    const match = /^\/v2\/sandboxes\/sessions\/([^/]+)(?:\/cmd\/([^/]+))?/.exec(below);
    const session = match === null ? undefined : this.#sessions.get(decodeURIComponent(match[1] as string));
    if (route === "other" || session === undefined) return errorResponse(404, "not_found", "Not found");
    const commandId = match?.[2] === undefined ? undefined : decodeURIComponent(match[2]);
    const command = commandId === undefined ? undefined : session.commands.get(commandId);
    if (route === "stop") {
      await this.#stopSession(session);
      const sandbox = this.#sandboxes.get(session.sandboxName);
      return HttpResponse.json({
        session: session.json,
        ...(sandbox === undefined ? {} : { sandbox: this.#sandboxJson(sandbox) }),
      });
    }
    // Finished commands stay readable; everything else needs a running session.
    if (route === "command-get" || route === "command-logs") {
      if (command === undefined) return errorResponse(404, "not_found", "Command not found");
      if (route === "command-logs") return this.#logStream(session, command, false, dropStream);
      if (new URL(request.url).searchParams.get("wait") === "true") {
        await Promise.race([command.done, session.stopped]);
        if (command.json.exitCode === null)
          return errorResponse(410, "sandbox_stopped", "The sandbox has stopped");
      }
      return HttpResponse.json({ command: command.json });
    }
    const vm = session.vm;
    if (!this.#isLive(session) || vm === undefined) {
      return errorResponse(410, "sandbox_stopped", "The sandbox has stopped");
    }
    const input = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
    switch (route) {
      case "command":
        return this.#runCommand(session, vm, input, dropStream);
      case "command-kill": {
        if (command === undefined) return errorResponse(404, "not_found", "Command not found");
        const signal = signalNames[input.signal as number];
        if (signal === undefined) return errorResponse(400, "bad_request", "unsupported signal");
        // Vercel: "the command must still be running for this operation to succeed".
        if (command.json.exitCode !== null) {
          return errorResponse(400, "command_not_running", "The command is not running");
        }
        // The process group: the command and every process it started (FakeVmProcess.kill).
        await command.process?.kill(signal);
        return HttpResponse.json({ command: command.json });
      }
      case "fs-read": {
        if (typeof input.path !== "string") return errorResponse(400, "bad_request", "path is required");
        const path = resolvePath(typeof input.cwd === "string" ? input.cwd : session.json.cwd, input.path);
        const read = await vm.readFile(path);
        if (read.kind === "missing") return errorResponse(404, "file_not_found", "File not found");
        if (read.kind === "directory") return errorResponse(400, "is_a_directory", "Path is a directory");
        return new Response(read.data as Uint8Array<ArrayBuffer>, {
          status: 200,
          headers: { "content-type": "application/octet-stream" },
        });
      }
      case "fs-write": {
        const extractDir = request.headers.get("x-cwd") ?? "/";
        let entries: ReturnType<typeof readGzippedTar>;
        try {
          entries = readGzippedTar(raw);
        } catch {
          return errorResponse(400, "bad_request", "the body is not a gzipped tar");
        }
        for (const entry of entries) {
          const target = resolvePath(extractDir, entry.name);
          const written =
            entry.type === "directory"
              ? await vm.makeDirectory(target)
              : await vm.writeFile(target, entry.data);
          if (!written) return errorResponse(400, "file_write_failed", `could not write ${entry.name}`);
        }
        return HttpResponse.json({});
      }
      case "fs-mkdir": {
        if (typeof input.path !== "string") return errorResponse(400, "bad_request", "path is required");
        const path = resolvePath(typeof input.cwd === "string" ? input.cwd : session.json.cwd, input.path);
        if (!(await vm.makeDirectory(path)))
          return errorResponse(400, "mkdir_failed", "could not make the directory");
        return HttpResponse.json({});
      }
      default:
        return errorResponse(404, "not_found", "Not found");
    }
  }

  async #runCommand(
    session: FakeSession,
    vm: FakeVm,
    input: Record<string, unknown>,
    dropStream: boolean,
  ): Promise<Response> {
    if (typeof input.command !== "string" || input.command === "") {
      return errorResponse(400, "bad_request", "command is required");
    }
    const args = Array.isArray(input.args) ? input.args.map(String) : [];
    const cwd = typeof input.cwd === "string" ? resolvePath(session.json.cwd, input.cwd) : session.json.cwd;
    const sandbox = this.#sandboxes.get(session.sandboxName);
    const env = { ...sandbox?.env, ...((input.env ?? {}) as Record<string, string>) };
    let finish = () => {};
    const command: FakeCommand = {
      json: {
        id: `cmd_${randomBytes(10).toString("hex")}`,
        name: input.command,
        args,
        cwd,
        sessionId: session.json.id,
        exitCode: null,
        startedAt: Date.now(),
      },
      logs: [],
      listeners: new Set(),
      process: undefined,
      done: new Promise<void>((resolve) => {
        finish = resolve;
      }),
    };
    const emit = (stream: "stdout" | "stderr", data: string) => {
      command.logs.push({ stream, data });
      for (const listener of command.listeners) listener();
    };
    try {
      command.process = await vm.spawn({
        argv: [input.command, ...args],
        cwd,
        env,
        onStdout: (text) => emit("stdout", text),
        onStderr: (text) => emit("stderr", text),
      });
    } catch (error) {
      if (error instanceof FakeVmCwdError) return errorResponse(400, "bad_request", error.message);
      throw error;
    }
    session.commands.set(command.json.id, command);
    const timeout = typeof input.timeout === "number" ? input.timeout : undefined;
    const timer =
      timeout === undefined ? undefined : setTimeout(() => void command.process?.kill("SIGKILL"), timeout);
    command.process.exited.then(
      (exitCode) => {
        clearTimeout(timer);
        command.json.exitCode = exitCode;
        command.json.durationMs = Date.now() - command.json.startedAt;
        finish();
        for (const listener of command.listeners) listener();
      },
      () => {
        clearTimeout(timer);
      },
    );
    if (input.wait === true) return this.#logStream(session, command, true, dropStream);
    return HttpResponse.json({ command: command.json });
  }

  /**
   * An NDJSON stream of the command's log lines, from its first, while it runs. `waited`: the
   * `cmd` answer of a waited command, which starts with the command and ends with it finished.
   * When the session stops first, an `error` line ends the stream.
   */
  #logStream(session: FakeSession, command: FakeCommand, waited: boolean, dropStream: boolean): Response {
    const encoder = new TextEncoder();
    let cancelled = false;
    let listener: (() => void) | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const write = (value: unknown) => controller.enqueue(encoder.encode(`${JSON.stringify(value)}\n`));
        let sent = 0;
        let ended = false;
        const end = () => {
          if (ended) return;
          ended = true;
          if (listener !== undefined) command.listeners.delete(listener);
          if (!cancelled) controller.close();
        };
        if (waited) write({ command: { ...command.json, exitCode: null } });
        if (dropStream) {
          // The connection drops after the first line: the stream ends without its last line.
          controller.error(new TypeError("terminated"));
          ended = true;
          return;
        }
        const flush = () => {
          if (ended || cancelled) return;
          while (sent < command.logs.length) write(command.logs[sent++]);
          if (command.json.exitCode !== null) {
            if (waited) write({ command: command.json });
            end();
          }
        };
        listener = flush;
        command.listeners.add(listener);
        session.stopped.then(() => {
          // Output already produced still goes out before the error line.
          setTimeout(() => {
            if (ended || cancelled || command.json.exitCode !== null) return;
            while (sent < command.logs.length) write(command.logs[sent++]);
            write({ stream: "error", data: { code: "sandbox_stopped", message: "The sandbox has stopped" } });
            end();
          }, 50);
        });
        flush();
      },
      cancel: () => {
        cancelled = true;
        if (listener !== undefined) command.listeners.delete(listener);
      },
    });
    return new Response(stream, { status: 200, headers: { "content-type": ndjson } });
  }
}

/** Creates a fake Vercel API; pass its `handlers` to msw's `setupServer`. */
export function createVercelFake(options: VercelFakeOptions): VercelFake {
  return new VercelFake(options);
}
