/**
 * HTTP client of the sandbox bridge, the `@cloudflare/sandbox/bridge` API a team deploys (read from
 * the sandbox bridge's routes in `@cloudflare/sandbox@0.12`), on core's HTTP client: a deadline per request,
 * a cap on answers, no redirects, and the token redacted from every message.
 *
 * - `POST   {prefix}/sandbox`                   -> 200 `{ id }` (only mints an id: base32, `[a-z2-7]`)
 * - `POST   {prefix}/sandbox/{id}/exec`         `{ argv, cwd?, timeout_ms? }` -> 200 `text/event-stream`
 *   (`stdout` / `stderr`: base64 data; `exit`: `{ exit_code }`; `error`: `{ error, code }`)
 * - `GET    {prefix}/sandbox/{id}/file/{path}`  -> 200 raw bytes (`application/octet-stream`)
 * - `PUT    {prefix}/sandbox/{id}/file/{path}`  raw bytes -> 200 `{ ok: true }`
 * - `DELETE {prefix}/sandbox/{id}`              -> 204 (also for unknown ids)
 *
 * Every route takes `Authorization: Bearer <token>`; errors are JSON `{ error, code }`. Every route
 * on `/sandbox/{id}` (DELETE included: its router middleware matches it too) first assigns the id a
 * container, starting a fresh one when the id has none: 503 `capacity_exceeded` when the pool is
 * full, 502 `pool_error` when the start fails.
 */
import { createHttpClient, type HttpClient, type HttpResponse, TimeoutError } from "@sandport/core";
import * as z from "zod";
import {
  errorFromSandboxBridgeResponse,
  type FailureContext,
  unreadableResponseError,
} from "./cloudflare-container-errors.ts";
import {
  type CloudflareContainerProviderSettings,
  resolveSandboxBridgeConnection,
} from "./container-settings.ts";

/** Body of the exec route. */
export interface SandboxBridgeExecBody {
  argv: string[];
  cwd: string;
  timeout_ms?: number;
}

/** Default limit of a non-streaming request, ms. */
export const defaultRequestTimeoutMs = 60_000;

/** Largest answer read, bytes: a file read above it fails with `output_limit`. */
export const maxAnswerBytes = 64 * 1024 * 1024;

/** At most this much of an exec route's error body is read: it only feeds the kept `cause`. */
const maxErrorBodyBytes = 64 * 1024;

const errorBodySchema = z.object({ error: z.string().nullish(), code: z.string().nullish() });
const createdSchema = z.object({ id: z.string().regex(/^[a-z2-7]{1,128}$/) });
const writtenSchema = z.object({ ok: z.literal(true) });

/** How one request is sent. */
interface SendOptions {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path below the API prefix, e.g. `/sandbox/abc/exec`. */
  path: string;
  operation: string;
  body?: RequestInit["body"];
  contentType?: string;
  signal?: AbortSignal | undefined;
}

/** Talks to one sandbox bridge deployment. Built once per provider; credentials load at the first request. */
export class SandboxBridgeClient {
  readonly #settings: CloudflareContainerProviderSettings;
  readonly #providerId: string;
  #http: HttpClient | undefined;

  constructor(settings: CloudflareContainerProviderSettings, providerId: string) {
    this.#settings = settings;
    this.#providerId = providerId;
  }

  /** `POST /sandbox`: a new sandbox id. No container exists for it until the first `/sandbox/{id}/` call. */
  async createSandbox(signal?: AbortSignal): Promise<string> {
    const operation = "create";
    const response = await this.#send({ method: "POST", path: "/sandbox", operation, signal });
    const { id } = this.#readJson(response, createdSchema, operation);
    return id;
  }

  /** `POST /sandbox/{id}/exec`: the event stream of the command, once the sandbox bridge has answered 200. */
  async openExec(
    vendorId: string,
    body: SandboxBridgeExecBody,
    signal: AbortSignal,
  ): Promise<ReadableStreamDefaultReader<Uint8Array>> {
    const operation = "exec";
    const { response, release } = await this.#withinDeadline(
      operation,
      this.#client().open(
        this.#request({
          method: "POST",
          path: `/sandbox/${vendorId}/exec`,
          operation,
          body: JSON.stringify(body),
          contentType: "application/json",
          signal,
        }),
      ),
    );
    if (!response.ok) {
      // The status decides; the body only feeds the kept cause, so a body that fails to arrive
      // leaves it out.
      const text = await readLimitedText(response, maxErrorBodyBytes).catch(() => "");
      release();
      throw this.#statusError(response.status, response.headers, text, operation);
    }
    // The command may run for as long as it likes; its own timeout guard bounds the stream. The
    // caller's signal stays linked, so aborting it still tears the connection down.
    release();
    const contentType = response.headers.get("content-type") ?? "";
    if (!contentType.startsWith("text/event-stream") || response.body === null) {
      const text = await response.text().catch(() => "");
      throw unreadableResponseError(
        this.#context(operation),
        new Error(`expected text/event-stream, got "${contentType}" (${text.length} characters)`),
      );
    }
    return response.body.getReader();
  }

  /** `GET /sandbox/{id}/file/{path}`: the file's bytes. */
  async readFile(
    vendorId: string,
    routePath: string,
    operation: string,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    const response = await this.#send({
      method: "GET",
      path: `/sandbox/${vendorId}/file/${routePath}`,
      operation,
      signal,
    });
    const contentType = response.headers.get("content-type") ?? "";
    // The sandbox bridge always labels file bytes; anything else (an HTML page from a proxy) is not the file.
    if (!contentType.startsWith("application/octet-stream")) {
      throw unreadableResponseError(
        this.#context(operation),
        new Error(`expected application/octet-stream, got "${contentType}"`),
      );
    }
    return response.body;
  }

  /** `PUT /sandbox/{id}/file/{path}`: writes the file (the container creates parent directories). */
  async writeFile(
    vendorId: string,
    routePath: string,
    data: Uint8Array,
    operation: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const response = await this.#send({
      method: "PUT",
      path: `/sandbox/${vendorId}/file/${routePath}`,
      operation,
      body: data as Uint8Array<ArrayBuffer>,
      contentType: "application/octet-stream",
      signal,
    });
    this.#readJson(response, writtenSchema, operation);
  }

  /** `DELETE /sandbox/{id}`: destroys the container; 204 also for ids that had none (after starting one). */
  async deleteSandbox(vendorId: string, signal?: AbortSignal): Promise<void> {
    await this.#send({ method: "DELETE", path: `/sandbox/${vendorId}`, operation: "destroy", signal });
  }

  /** Removes the token from vendor text before it is kept anywhere. */
  redact(text: string): string {
    return this.#http?.redact(text) ?? text;
  }

  #context(operation: string): FailureContext {
    return { providerId: this.#providerId, operation };
  }

  /** The HTTP client, built at the first request from checked settings (which may throw). */
  #client(): HttpClient {
    if (this.#http !== undefined) return this.#http;
    const { apiBase, token } = resolveSandboxBridgeConnection(this.#settings, this.#providerId);
    this.#http = createHttpClient({
      baseUrl: apiBase,
      providerId: this.#providerId,
      headers: (): Record<string, string> =>
        token === undefined ? {} : { authorization: `Bearer ${token}` },
      secrets: () => (token === undefined ? [] : [token]),
      timeoutMs: this.#settings.requestTimeoutMs ?? defaultRequestTimeoutMs,
      maxBodyBytes: maxAnswerBytes,
      // Looked up at each request, so a fetch patched after construction (a test's mock) is used.
      fetch: (input, init) => (this.#settings.fetch ?? globalThis.fetch)(input, init),
    });
    return this.#http;
  }

  #request(options: SendOptions) {
    return {
      method: options.method,
      path: options.path,
      what: `${options.operation} (sandbox bridge)`,
      ...(options.body === undefined ? {} : { body: options.body }),
      ...(options.contentType === undefined ? {} : { headers: { "content-type": options.contentType } }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    };
  }

  /** Sends a request and reads the answer; a non-2xx answer becomes the matching sandport error. */
  async #send(options: SendOptions): Promise<HttpResponse> {
    const response = await this.#withinDeadline(
      options.operation,
      this.#client().send(this.#request(options)),
    );
    if (response.status < 200 || response.status > 299) {
      const text = new TextDecoder().decode(response.body);
      throw this.#statusError(response.status, response.headers, text, options.operation);
    }
    return response;
  }

  /** A missed deadline names its length and the setting that sets it. */
  #withinDeadline<T>(operation: string, call: Promise<T>): Promise<T> {
    return call.catch((error: unknown) => {
      if (!TimeoutError.isInstance(error)) throw error;
      const timeoutMs = this.#settings.requestTimeoutMs ?? defaultRequestTimeoutMs;
      throw new TimeoutError(
        `${operation} (sandbox bridge): no answer in ${timeoutMs} ms (the requestTimeoutMs setting)`,
        { cause: error, providerId: this.#providerId },
      );
    });
  }

  #statusError(status: number, headers: Headers, text: string, operation: string) {
    return errorFromSandboxBridgeResponse(
      { status, retryAfter: headers.get("retry-after"), ...this.#errorBody(text) },
      this.#context(operation),
    );
  }

  /** The structured part of an error body, when it is the sandbox bridge's JSON. */
  #errorBody(text: string): { code?: string; message?: string } {
    try {
      const parsed = errorBodySchema.parse(JSON.parse(text));
      return {
        ...(parsed.code == null ? {} : { code: parsed.code }),
        ...(parsed.error == null ? {} : { message: this.redact(parsed.error) }),
      };
    } catch {
      // Not the sandbox bridge's JSON (a proxy's page): the status alone decides.
      return {};
    }
  }

  #readJson<Output>(response: HttpResponse, schema: z.ZodType<Output>, operation: string): Output {
    try {
      return schema.parse(JSON.parse(new TextDecoder().decode(response.body)));
    } catch (error) {
      throw unreadableResponseError(this.#context(operation), error);
    }
  }
}

/** Reads at most `limit` bytes of a body as text and drops the rest. */
async function readLimitedText(response: Response, limit: number): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return "";
  const decoder = new TextDecoder();
  let text = "";
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    text += decoder.decode(value, { stream: true });
    if (size >= limit) {
      await reader.cancel().catch(() => {});
      break;
    }
  }
  return text + decoder.decode();
}
