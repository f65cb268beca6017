/**
 * HTTP client of the `@cloudflare/sandbox/bridge` Worker API (read from the bridge's routes in
 * `@cloudflare/sandbox@0.12`):
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
import { AbortedError, type SandportError, TimeoutError } from "@sandport/core";
import { z } from "zod";
import {
  errorFromBridgeResponse,
  type FailureContext,
  networkError,
  redact,
  unreadableResponseError,
} from "./cloudflare-container-errors.ts";
import {
  type BridgeConnection,
  type CloudflareContainerProviderSettings,
  resolveBridgeConnection,
} from "./container-settings.ts";

/** Body of the exec route. */
export interface BridgeExecBody {
  argv: string[];
  cwd: string;
  timeout_ms?: number;
}

/** Default limit of a non-streaming request, ms. */
export const defaultRequestTimeoutMs = 60_000;

/** At most this much of an error body is read: it only feeds the kept `cause`. */
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
  signal?: AbortSignal;
}

/** A response together with the means to give up on reading it. */
interface SentRequest {
  response: Response;
  /** Aborts the underlying request (and so a body still being read). */
  abort(): void;
  /** Stops the request timeout only (for a stream whose length the caller bounds itself). */
  stopTimer(): void;
  /** Stops the timeout and unlinks the caller's signal: the request is over. */
  release(): void;
  /** Maps a failure while reading the body: abort, timeout, or a broken connection. */
  readFailure(error: unknown): SandportError;
}

/** Talks to one bridge deployment. Built once per provider; credentials load at the first request. */
export class BridgeClient {
  readonly #settings: CloudflareContainerProviderSettings;
  readonly #providerId: string;
  #connection: BridgeConnection | undefined;

  constructor(settings: CloudflareContainerProviderSettings, providerId: string) {
    this.#settings = settings;
    this.#providerId = providerId;
  }

  /** `POST /sandbox`: a new sandbox id. No container exists for it until the first `/sandbox/{id}/` call. */
  async createSandbox(signal?: AbortSignal): Promise<string> {
    const operation = "create";
    const sent = await this.#send({ method: "POST", path: "/sandbox", operation, signal });
    const { id } = await this.#readJson(sent, createdSchema, operation);
    return id;
  }

  /** `POST /sandbox/{id}/exec`: the event stream of the command, once the bridge has answered 200. */
  async openExec(
    vendorId: string,
    body: BridgeExecBody,
    signal: AbortSignal,
  ): Promise<ReadableStreamDefaultReader<Uint8Array>> {
    const operation = "exec";
    const sent = await this.#send({
      method: "POST",
      path: `/sandbox/${vendorId}/exec`,
      operation,
      body: JSON.stringify(body),
      contentType: "application/json",
      signal,
    });
    // The command may run for as long as it likes; its own timeout guard bounds the stream. The
    // caller's signal stays linked, so aborting it still tears the connection down.
    sent.stopTimer();
    const contentType = sent.response.headers.get("content-type") ?? "";
    if (!contentType.startsWith("text/event-stream") || sent.response.body === null) {
      const text = await sent.response.text().catch(() => "");
      throw unreadableResponseError(
        this.#context(operation),
        new Error(`expected text/event-stream, got "${contentType}" (${text.length} characters)`),
      );
    }
    return sent.response.body.getReader();
  }

  /** `GET /sandbox/{id}/file/{path}`: the file's bytes. */
  async readFile(
    vendorId: string,
    routePath: string,
    operation: string,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    const sent = await this.#send({
      method: "GET",
      path: `/sandbox/${vendorId}/file/${routePath}`,
      operation,
      signal,
    });
    const contentType = sent.response.headers.get("content-type") ?? "";
    // The bridge always labels file bytes; anything else (an HTML page from a proxy) is not the file.
    if (!contentType.startsWith("application/octet-stream")) {
      sent.release();
      sent.abort();
      throw unreadableResponseError(
        this.#context(operation),
        new Error(`expected application/octet-stream, got "${contentType}"`),
      );
    }
    try {
      return new Uint8Array(await sent.response.arrayBuffer());
    } catch (error) {
      throw sent.readFailure(error);
    } finally {
      sent.release();
    }
  }

  /** `PUT /sandbox/{id}/file/{path}`: writes the file (the container creates parent directories). */
  async writeFile(
    vendorId: string,
    routePath: string,
    data: Uint8Array,
    operation: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const sent = await this.#send({
      method: "PUT",
      path: `/sandbox/${vendorId}/file/${routePath}`,
      operation,
      body: data as Uint8Array<ArrayBuffer>,
      contentType: "application/octet-stream",
      signal,
    });
    await this.#readJson(sent, writtenSchema, operation);
  }

  /** `DELETE /sandbox/{id}`: destroys the container; 204 also for ids that had none (after starting one). */
  async deleteSandbox(vendorId: string, signal?: AbortSignal): Promise<void> {
    const sent = await this.#send({
      method: "DELETE",
      path: `/sandbox/${vendorId}`,
      operation: "destroy",
      signal,
    });
    sent.release();
    await sent.response.body?.cancel().catch(() => {});
  }

  /** Removes the token from vendor text before it is kept anywhere. */
  redact(text: string): string {
    const token = this.#connection?.token;
    return token === undefined ? text : redact(text, token);
  }

  #context(operation: string): FailureContext {
    return { providerId: this.#providerId, operation };
  }

  async #send(options: SendOptions): Promise<SentRequest> {
    const context = this.#context(options.operation);
    this.#connection ??= resolveBridgeConnection(this.#settings, this.#providerId);
    const { apiBase, token } = this.#connection;
    const signal = options.signal;
    if (signal?.aborted) throw aborted(context, signal.reason);

    const controller = new AbortController();
    let timedOut = false;
    const timeoutMs = this.#settings.requestTimeoutMs ?? defaultRequestTimeoutMs;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const stopTimer = () => clearTimeout(timer);
    const failure = (error: unknown): SandportError => {
      stopTimer();
      signal?.removeEventListener("abort", onAbort);
      if (signal?.aborted) return aborted(context, signal.reason);
      if (timedOut) {
        return new TimeoutError(
          `${options.operation}: no answer from the Cloudflare sandbox bridge in ${timeoutMs} ms`,
          {
            cause: error,
            providerId: this.#providerId,
          },
        );
      }
      return networkError(context, error);
    };

    const headers = new Headers({ authorization: `Bearer ${token}` });
    if (options.contentType !== undefined) headers.set("content-type", options.contentType);
    const fetchFunction = this.#settings.fetch ?? globalThis.fetch;
    let response: Response;
    try {
      response = await fetchFunction(`${apiBase}${options.path}`, {
        method: options.method,
        headers,
        body: options.body,
        signal: controller.signal,
        // The bridge never redirects; following one could hand the token to another origin.
        redirect: "error",
      });
    } catch (error) {
      throw failure(error);
    }
    if (!response.ok) {
      let text: string;
      try {
        text = await readLimitedText(response, maxErrorBodyBytes);
      } catch (error) {
        throw failure(error);
      }
      stopTimer();
      signal?.removeEventListener("abort", onAbort);
      throw errorFromBridgeResponse(
        {
          status: response.status,
          retryAfter: response.headers.get("retry-after"),
          ...this.#errorBody(text),
        },
        context,
      );
    }
    return {
      response,
      abort: () => controller.abort(),
      stopTimer,
      release: () => {
        stopTimer();
        signal?.removeEventListener("abort", onAbort);
      },
      readFailure: failure,
    };
  }

  /** The structured part of an error body, when it is the bridge's JSON. */
  #errorBody(text: string): { code?: string; message?: string } {
    try {
      const parsed = errorBodySchema.parse(JSON.parse(text));
      return {
        ...(parsed.code == null ? {} : { code: parsed.code }),
        ...(parsed.error == null ? {} : { message: this.redact(parsed.error) }),
      };
    } catch {
      // Not the bridge's JSON (a proxy's page): the status alone decides.
      return {};
    }
  }

  async #readJson<Output>(sent: SentRequest, schema: z.ZodType<Output>, operation: string): Promise<Output> {
    let text: string;
    try {
      text = await sent.response.text();
    } catch (error) {
      throw sent.readFailure(error);
    } finally {
      sent.release();
    }
    try {
      return schema.parse(JSON.parse(text));
    } catch (error) {
      throw unreadableResponseError(this.#context(operation), error);
    }
  }
}

function aborted(context: FailureContext, reason: unknown): AbortedError {
  return new AbortedError(`${context.operation} was aborted`, {
    cause: reason,
    providerId: context.providerId,
  });
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
