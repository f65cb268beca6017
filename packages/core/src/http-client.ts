/**
 * The fetch wrapper adapters share for a vendor's HTTP API: a base URL, a deadline per request,
 * a cap on response bodies, no redirects (a credentialed request must not be sent elsewhere), and
 * secrets removed from every message. Runtime-neutral: it needs only `fetch`.
 */
import {
  AbortedError,
  OutputLimitError,
  ProviderUnavailableError,
  type SandportError,
  TimeoutError,
} from "./errors.ts";

/** Settings of {@link createHttpClient}. */
export interface HttpClientSettings {
  /** Base URL; request paths are appended to it. */
  baseUrl: string;
  providerId: string;
  /** Headers for every request (credentials), resolved at each request so they load lazily. */
  headers?: () => Record<string, string> | Promise<Record<string, string>>;
  /** Strings never to show in a message (tokens, URL userinfo). Default: none. */
  secrets?: () => readonly string[];
  /** Deadline of one request, ms. Default 30,000. */
  timeoutMs?: number;
  /** Largest response body read, bytes. Default 64 MiB. */
  maxBodyBytes?: number;
  /** The fetch to use (a test seam). Default: the global fetch. */
  fetch?: typeof fetch;
}

/** One request. */
export interface HttpRequest {
  method: string;
  /** Appended to the base URL. */
  path: string;
  /** What the call is, for messages: e.g. `create (POST /v1/sandbox)`. */
  what: string;
  body?: RequestInit["body"];
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Overrides the client's deadline. */
  timeoutMs?: number;
}

/** A response whose body was read whole (within the cap). */
export interface HttpResponse {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** A vendor HTTP API client. */
export interface HttpClient {
  /** Sends and reads the whole body; rejects only for transport failures, never for a status. */
  send(request: HttpRequest): Promise<HttpResponse>;
  /**
   * Sends and returns the response unread (a stream the caller consumes), with the same
   * deadline, abort and redirect rules; `release()` ends the deadline once the caller is done.
   */
  open(request: HttpRequest): Promise<{ response: Response; release(): void }>;
  /** `text` with every secret replaced by `[redacted]`. */
  redact(text: string): string;
}

const defaultTimeoutMs = 30_000;
const defaultMaxBodyBytes = 64 * 1024 * 1024;

/** Creates a client; nothing is sent until the first request. */
export function createHttpClient(settings: HttpClientSettings): HttpClient {
  const fetchImplementation = settings.fetch ?? fetch;
  const maxBodyBytes = settings.maxBodyBytes ?? defaultMaxBodyBytes;
  const { providerId } = settings;

  const redact = (text: string): string => {
    let result = text;
    for (const secret of settings.secrets?.() ?? []) {
      if (secret !== "") result = result.split(secret).join("[redacted]");
    }
    return result;
  };

  const transportError = (
    error: unknown,
    request: HttpRequest,
    timedOutAfterMs: number | undefined,
  ): SandportError => {
    if (timedOutAfterMs !== undefined) {
      return new TimeoutError(`${request.what}: no complete answer within ${timedOutAfterMs} ms`, {
        providerId,
      });
    }
    if (request.signal?.aborted) {
      return new AbortedError(`${request.what}: aborted`, { cause: request.signal.reason, providerId });
    }
    // The cause's message may quote the URL (and its userinfo): keep the cause, redact ours.
    const detail = error instanceof Error ? redact(error.message) : "unknown error";
    return new ProviderUnavailableError(`${request.what}: the request failed (${detail})`, {
      providerId,
      cause: error,
    });
  };

  /** Sends with the deadline running until `release`; `timedOut()` tells whether it fired. */
  const start = async (request: HttpRequest) => {
    const deadlineMs = request.timeoutMs ?? settings.timeoutMs ?? defaultTimeoutMs;
    const deadline = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort();
    }, deadlineMs);
    const signal =
      request.signal === undefined ? deadline.signal : AbortSignal.any([request.signal, deadline.signal]);
    const release = () => clearTimeout(timer);
    const timedOutAfterMs = () => (timedOut ? deadlineMs : undefined);
    try {
      const response = await fetchImplementation(`${settings.baseUrl}${request.path}`, {
        method: request.method,
        headers: { ...(await settings.headers?.()), ...request.headers },
        ...(request.body === undefined ? {} : { body: request.body }),
        // A redirect would carry the credentials elsewhere, or hide a misconfigured URL.
        redirect: "error",
        signal,
      });
      return { response, release, timedOutAfterMs };
    } catch (error) {
      release();
      throw transportError(error, request, timedOutAfterMs());
    }
  };

  const open = async (request: HttpRequest): Promise<{ response: Response; release(): void }> => {
    const { response, release } = await start(request);
    return { response, release };
  };

  const send = async (request: HttpRequest): Promise<HttpResponse> => {
    const { response, release, timedOutAfterMs } = await start(request);
    try {
      return {
        status: response.status,
        headers: response.headers,
        body: await readCapped(response, request),
      };
    } catch (error) {
      if (error instanceof OutputLimitError) throw error;
      // The deadline covers the body too: a stalled body is a timeout, not a broken provider.
      throw transportError(error, request, timedOutAfterMs());
    } finally {
      release();
    }
  };

  const readCapped = async (response: Response, request: HttpRequest): Promise<Uint8Array> => {
    const declared = Number(response.headers.get("content-length") ?? Number.NaN);
    if (declared > maxBodyBytes) {
      await response.body?.cancel().catch(() => {});
      throw new OutputLimitError(`${request.what}: the answer is larger than ${maxBodyBytes} bytes`, {
        providerId,
      });
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body ?? []) {
      size += chunk.byteLength;
      if (size > maxBodyBytes) {
        await response.body?.cancel().catch(() => {});
        throw new OutputLimitError(`${request.what}: the answer is larger than ${maxBodyBytes} bytes`, {
          providerId,
        });
      }
      chunks.push(chunk);
    }
    const body = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return body;
  };

  return { send, open, redact };
}
