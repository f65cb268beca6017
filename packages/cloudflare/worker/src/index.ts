/**
 * sandport's isolate Worker for the `cloudflare-isolate` provider. Deploy it with `wrangler deploy`
 * (see ../README.md); in local mode the provider runs this same code under miniflare.
 *
 * Routes and bodies: ../../src/isolate/isolate-worker-protocol.ts. Every route needs a bearer token,
 * which names the tenant the route acts for (tenants.ts).
 */

import type { IsolateWorkerExecuteResult } from "../../src/isolate/isolate-worker-protocol.ts";
import {
  engineStopHeader,
  maxSmallBodyBytes,
  workspaceProblem,
} from "../../src/isolate/isolate-worker-protocol.ts";
import { bytesFromBase64, bytesToBase64 } from "./base64.ts";
import { unwrap } from "./outcome.ts";
import {
  parseCreateBody,
  parseExecuteBody,
  parseLabelsQuery,
  parseListBody,
  parsePathBody,
  parseRecursiveBody,
  parseRenameBody,
  parseRunBody,
  workspaceFilePath,
} from "./request-validation.ts";
import { type IsolateWorkerExports, runInIsolate } from "./run-in-isolate.ts";
import { sandboxIndex } from "./sandbox-index.ts";
import { authenticate, sandboxObjectName, type Tenant } from "./tenants.ts";
import { type IsolateWorkerEnv, isolateWorkerLimits } from "./worker-env.ts";
import { failureResponse, IsolateWorkerFailure, readBytes, readJsonObject } from "./worker-responses.ts";

export { OutboundGate } from "./outbound-gate.ts";
export { SandboxIndex } from "./sandbox-index.ts";
export { SandboxObject } from "./sandbox-object.ts";

/** Version of the HTTP protocol this Worker speaks. */
const protocolVersion = 1;

const sandboxIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });
}

/** Sandbox `id` of `tenant`: the name includes the tenant, so no other tenant can reach it. */
function sandboxStub(env: IsolateWorkerEnv, tenant: Tenant, id: string) {
  if (!sandboxIdPattern.test(id)) throw new IsolateWorkerFailure("not_found", "no such sandbox");
  return env.SANDBOXES.get(env.SANDBOXES.idFromName(sandboxObjectName(tenant, id)));
}

/** `POST /v1/sandboxes`: the tenant's default lifetime applies, and no lifetime may pass its maximum. */
async function createSandbox(request: Request, env: IsolateWorkerEnv, tenant: Tenant): Promise<Response> {
  const body = parseCreateBody(await readJsonObject(request, maxSmallBodyBytes));
  const { defaultTtlMs, maxTtlMs } = tenant.quotas;
  const ttlMs = body.ttlMs ?? defaultTtlMs ?? maxTtlMs;
  if (maxTtlMs !== undefined && ttlMs !== undefined && ttlMs > maxTtlMs) {
    throw new IsolateWorkerFailure(
      "invalid_request",
      `ttlMs ${ttlMs} is over this deployment's maximum lifetime of ${maxTtlMs} ms`,
    );
  }
  const id = crypto.randomUUID();
  const created = await sandboxStub(env, tenant, id).initialize(
    id,
    { ...body, ...(ttlMs === undefined ? {} : { ttlMs }) },
    tenant.id,
  );
  return json(unwrap(created), 201);
}

/** Counts a run against the tenant's runs-per-minute quota; refused runs get `rate_limited`. */
async function takeRun(env: IsolateWorkerEnv, tenant: Tenant): Promise<void> {
  const limit = tenant.quotas.maxRunsPerMinute;
  if (limit === undefined) return;
  const refusal = await sandboxIndex(env, tenant).takeRun(limit);
  if (refusal !== null) {
    throw new IsolateWorkerFailure(
      "rate_limited",
      `this tenant may start ${limit} runs per minute`,
      refusal.retryAfterMs,
    );
  }
}

/** `POST /v1/execute`: a run with its files carried in the request (local mode keeps the state). */
async function execute(
  request: Request,
  env: IsolateWorkerEnv,
  exports: IsolateWorkerExports,
): Promise<Response> {
  const limits = isolateWorkerLimits(env);
  const body = parseExecuteBody(
    await readJsonObject(
      request,
      runBodyLimit(limits.maxCodeBytes) + Math.ceil((limits.maxFilesBytes * 4) / 3),
    ),
    limits.maxCodeBytes,
  );
  const mount = body.filesystem || Object.keys(body.files).length > 0 || (body.directories ?? []).length > 0;
  const maxFilesBytes = Math.min(body.maxFilesBytes, limits.maxFilesBytes);
  const files = new Map<string, Uint8Array>();
  if (mount) {
    for (const [path, text] of Object.entries(body.files))
      files.set(workspaceFilePath(path), bytesFromBase64(text));
    const problem = workspaceProblem(files, body.directories ?? [], maxFilesBytes);
    if (problem !== undefined) throw new IsolateWorkerFailure("invalid_request", `files: ${problem}`);
  }
  const outcome = await runInIsolate(env.LOADER, exports, {
    code: body.code,
    env: body.env,
    egress: body.egress,
    timeoutMs: body.timeoutMs,
    maxOutputBytes: body.maxOutputBytes,
    process: body.process,
    files: mount ? files : undefined,
    directories: body.directories ?? [],
    maxFilesBytes,
  });
  if (outcome.result.timedOut) {
    // Under local mode's engine pool: stop this engine, and with it whatever the run still does.
    const response = json(outcome.result satisfies IsolateWorkerExecuteResult);
    response.headers.set(engineStopHeader, "1");
    return response;
  }
  if (outcome.files === undefined) return json(outcome.result satisfies IsolateWorkerExecuteResult);
  // Null prototype: a file named `__proto__` is an own key like any other.
  const encoded: Record<string, string> = Object.create(null);
  for (const [path, bytes] of outcome.files) encoded[path] = bytesToBase64(bytes);
  return json({
    ...outcome.result,
    files: encoded,
    directories: outcome.directories ?? [],
  } satisfies IsolateWorkerExecuteResult);
}

/**
 * Largest JSON body of a run: the code (JSON may spell each byte as a six-character escape), plus
 * room for env and the options.
 */
function runBodyLimit(maxCodeBytes: number): number {
  return 6 * maxCodeBytes + maxSmallBodyBytes;
}

/** Routes under `/v1/sandboxes/{id}`. */
async function sandboxRoute(
  request: Request,
  env: IsolateWorkerEnv,
  tenant: Tenant,
  id: string,
  rest: string,
): Promise<Response> {
  const sandbox = sandboxStub(env, tenant, id);
  if (rest === "") {
    if (request.method === "GET") return json(unwrap(await sandbox.info()));
    if (request.method === "DELETE") {
      await sandbox.destroy();
      return new Response(null, { status: 204 });
    }
  } else if (rest === "/run" && request.method === "POST") {
    const { maxCodeBytes } = isolateWorkerLimits(env);
    const body = parseRunBody(await readJsonObject(request, runBodyLimit(maxCodeBytes)), maxCodeBytes);
    await takeRun(env, tenant);
    return json(unwrap(await sandbox.run(body)));
  } else if (rest.startsWith("/files/")) {
    const path = workspaceFilePath(rest.slice("/files/".length));
    if (request.method === "PUT") {
      // Read up to one byte past the limit, never whole: a larger body is refused as it arrives.
      const limit = isolateWorkerLimits(env).maxFilesBytes;
      const bytes = await readBytes(request, limit, () => {
        throw new IsolateWorkerFailure(
          "files_too_large",
          `the file is over the sandbox's limit of ${limit} bytes`,
        );
      });
      unwrap(await sandbox.writeFile(path, bytes));
      return new Response(null, { status: 204 });
    }
    if (request.method === "GET") {
      const bytes = unwrap(await sandbox.readFile(path));
      return new Response(bytes, { headers: { "content-type": "application/octet-stream" } });
    }
  } else if (rest.startsWith("/fs/") && request.method === "POST") {
    return fileSystemRoute(
      sandbox,
      rest.slice("/fs/".length),
      await readJsonObject(request, maxSmallBodyBytes),
    );
  }
  throw new IsolateWorkerFailure("not_found", `no route ${request.method} /v1/sandboxes/{id}${rest}`);
}

/** `POST /v1/sandboxes/{id}/fs/{operation}`: the file calls on directories and entries. */
async function fileSystemRoute(
  sandbox: ReturnType<typeof sandboxStub>,
  operation: string,
  body: Record<string, unknown>,
): Promise<Response> {
  const done = () => new Response(null, { status: 204 });
  switch (operation) {
    case "list": {
      const { path, recursive, maxEntries } = parseListBody(body);
      return json(unwrap(await sandbox.listFiles(path, recursive, maxEntries)));
    }
    case "stat":
      return json(unwrap(await sandbox.statFile(parsePathBody(body).path)));
    case "mkdir": {
      const { path, recursive } = parseRecursiveBody(body);
      unwrap(await sandbox.makeDirectory(path, recursive));
      return done();
    }
    case "remove": {
      const { path, recursive } = parseRecursiveBody(body);
      unwrap(await sandbox.removeFile(path, recursive));
      return done();
    }
    case "rename": {
      const { from, to } = parseRenameBody(body);
      unwrap(await sandbox.renameFile(from, to));
      return done();
    }
    default:
      throw new IsolateWorkerFailure("not_found", `no route POST /v1/sandboxes/{id}/fs/${operation}`);
  }
}

async function route(request: Request, env: IsolateWorkerEnv, ctx: ExecutionContext): Promise<Response> {
  const tenant = await authenticate(request, env);
  const exports = ctx.exports as unknown as IsolateWorkerExports;
  const { pathname } = new URL(request.url);
  if (pathname === "/v1/health" && request.method === "GET") {
    return json({ ok: true, protocol: protocolVersion, limits: isolateWorkerLimits(env) });
  }
  if (pathname === "/v1/execute" && request.method === "POST" && env.SANDPORT_LOCAL_ENGINE === "1") {
    return execute(request, env, exports);
  }
  if (pathname === "/v1/sandboxes" && request.method === "GET") {
    const labels = parseLabelsQuery(new URL(request.url).searchParams.get("labels"));
    return json({ sandboxes: await sandboxIndex(env, tenant).list(labels) });
  }
  if (pathname === "/v1/sandboxes" && request.method === "POST") return createSandbox(request, env, tenant);
  const match = /^\/v1\/sandboxes\/([^/]+)(\/.*)?$/.exec(pathname);
  if (match?.[1] !== undefined) return sandboxRoute(request, env, tenant, match[1], match[2] ?? "");
  throw new IsolateWorkerFailure("not_found", `no route ${request.method} ${pathname}`);
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    try {
      return await route(request, env, ctx);
    } catch (error) {
      return failureResponse(error);
    }
  },
} satisfies ExportedHandler<IsolateWorkerEnv>;
