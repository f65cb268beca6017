/**
 * HTTPS client of a deployed isolate Worker (remote mode), on core's HTTP client: a deadline per
 * request, a cap on answers, no redirects, and the token redacted from every message. Credentials
 * resolve at the first request, so constructing a provider never fails for a missing token; the
 * token is sent only in the `Authorization` header.
 */
import { ConfigInvalidError, createHttpClient, type HttpClient, type HttpResponse } from "@sandport/core";
import { errorFromIsolateWorkerAnswer } from "../cloudflare-isolate-errors.ts";
import { isHeaderSafeToken, isSafeEndpointUrl } from "../endpoint-rules.ts";
import type { ResolvedIsolateSettings } from "./isolate-settings.ts";

/** Environment variable remote mode reads the Worker's URL from when `url` is not set. */
export const urlEnvironmentVariable = "SANDPORT_ISOLATE_WORKER_URL";
/** Environment variable remote mode reads the bearer token from when `token` is not set. */
export const tokenEnvironmentVariable = "SANDPORT_ISOLATE_WORKER_TOKEN";
/** The names these variables had before, still read when the new ones are unset. */
const legacyUrlVariable = "SANDPORT_BRIDGE_URL";
const legacyTokenVariable = "SANDPORT_BRIDGE_TOKEN";

/** Deadline of a request that runs no code, ms. */
export const requestTimeoutMs = 60_000;

/** What a run's request gets beyond the run's own timeout: loading the isolate, moving its files. */
export const runGraceMs = 30_000;

/** Smallest cap on an answer, bytes; a file read answers with up to the sandbox's `maxFilesBytes`. */
const minimumAnswerBytes = 64 * 1024 * 1024;

/** A request to the isolate Worker. */
export interface IsolateWorkerRequest {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  /** The call, for messages: e.g. `create`, `readFile "notes.txt"`. */
  what: string;
  json?: unknown;
  bytes?: Uint8Array;
  signal?: AbortSignal | undefined;
  /** Overrides the deadline of {@link requestTimeoutMs}. */
  timeoutMs?: number;
}

/** The first non-empty value among the environment variables. */
function fromEnvironment(environment: NodeJS.ProcessEnv, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = environment[name];
    if (value !== undefined && value !== "") return value;
  }
  return undefined;
}

/** The client; one per provider instance. */
export class IsolateWorkerClient {
  readonly #settings: ResolvedIsolateSettings;
  readonly #environment: NodeJS.ProcessEnv;
  #http: HttpClient | undefined;

  constructor(settings: ResolvedIsolateSettings, environment: NodeJS.ProcessEnv = process.env) {
    this.#settings = settings;
    this.#environment = environment;
  }

  #client(): HttpClient {
    if (this.#http !== undefined) return this.#http;
    const providerId = this.#settings.providerId;
    const url =
      this.#settings.url ?? fromEnvironment(this.#environment, urlEnvironmentVariable, legacyUrlVariable);
    const token =
      this.#settings.token ??
      fromEnvironment(this.#environment, tokenEnvironmentVariable, legacyTokenVariable);
    if (url === undefined || url === "") {
      throw new ConfigInvalidError(
        `remote mode needs the isolate Worker's URL: set "url" in the provider settings or ${urlEnvironmentVariable}`,
        { providerId },
      );
    }
    if (token === undefined || token === "") {
      throw new ConfigInvalidError(
        `remote mode needs the isolate Worker's token: set "token" in the provider settings or ${tokenEnvironmentVariable}`,
        { providerId },
      );
    }
    if (!isSafeEndpointUrl(url)) {
      throw new ConfigInvalidError(
        "the isolate Worker's URL must be an https URL (plain http only to loopback), so the token never travels in clear",
        { providerId },
      );
    }
    if (!isHeaderSafeToken(token)) {
      throw new ConfigInvalidError(
        `the isolate Worker's token ("token" or ${tokenEnvironmentVariable}) holds whitespace or characters that cannot travel in an HTTP header`,
        { providerId },
      );
    }
    const { password } = new URL(url);
    const secrets = [token, password, decodeURIComponent(password)].filter((secret) => secret !== "");
    this.#http = createHttpClient({
      baseUrl: url.replace(/\/+$/, ""),
      providerId,
      headers: () => ({ authorization: `Bearer ${token}` }),
      secrets: () => secrets,
      timeoutMs: requestTimeoutMs,
      maxBodyBytes: Math.max(minimumAnswerBytes, this.#settings.maxFilesBytes + 1024 * 1024),
      // Looked up at each request, so a fetch patched after construction (a test's mock) is used.
      fetch: (input, init) => (this.#settings.fetch ?? globalThis.fetch)(input, init),
    });
    return this.#http;
  }

  /** Sends a request and reads the answer; a non-2xx answer becomes the matching sandport error. */
  async send(request: IsolateWorkerRequest): Promise<HttpResponse> {
    const http = this.#client();
    const headers: Record<string, string> = {};
    let body: string | Uint8Array<ArrayBuffer> | undefined;
    if (request.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(request.json);
    } else if (request.bytes !== undefined) {
      headers["content-type"] = "application/octet-stream";
      body = request.bytes as Uint8Array<ArrayBuffer>;
    }
    const what = `${request.what} (isolate Worker)`;
    const response = await http.send({
      method: request.method,
      path: request.path,
      what,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(request.signal === undefined ? {} : { signal: request.signal }),
      ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
    });
    if (response.status < 200 || response.status > 299) {
      throw errorFromIsolateWorkerAnswer({
        status: response.status,
        text: answerText(response),
        retryAfter: response.headers.get("retry-after"),
        what,
        providerId: this.#settings.providerId,
        redact: http.redact,
      });
    }
    return response;
  }
}

/** An answer's body as text. */
export function answerText(response: HttpResponse): string {
  return new TextDecoder().decode(response.body);
}
