/**
 * HTTPS client of a deployed bridge Worker (remote mode). Credentials resolve at the first request,
 * so constructing a provider never fails for a missing token; the token is sent only in the
 * `Authorization` header and never appears in an error.
 */
import { AbortedError, ConfigInvalidError, ProviderUnavailableError, throwIfAborted } from "@sandport/core";
import { isHeaderSafeToken, isSafeBridgeUrl } from "../bridge-connection-rules.ts";
import { bridgeResponseError } from "../cloudflare-isolate-errors.ts";
import type { ResolvedIsolateSettings } from "./isolate-settings.ts";

/** Where the bridge is and how to reach it. */
interface BridgeEndpoint {
  base: URL;
  token: string;
  fetch: typeof fetch;
}

/** A request to the bridge. */
export interface BridgeRequest {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  json?: unknown;
  bytes?: Uint8Array;
  signal?: AbortSignal | undefined;
}

/** The client; one per provider instance. */
export class RemoteBridgeClient {
  readonly #settings: ResolvedIsolateSettings;
  readonly #environment: NodeJS.ProcessEnv;
  #endpoint: BridgeEndpoint | undefined;

  constructor(settings: ResolvedIsolateSettings, environment: NodeJS.ProcessEnv = process.env) {
    this.#settings = settings;
    this.#environment = environment;
  }

  #resolve(): BridgeEndpoint {
    if (this.#endpoint !== undefined) return this.#endpoint;
    const providerId = this.#settings.providerId;
    const url = this.#settings.url ?? this.#environment.SANDPORT_BRIDGE_URL;
    const token = this.#settings.token ?? this.#environment.SANDPORT_BRIDGE_TOKEN;
    if (url === undefined || url === "") {
      throw new ConfigInvalidError(
        'remote mode needs the bridge\'s URL: set "url" in the provider settings or SANDPORT_BRIDGE_URL',
        { providerId },
      );
    }
    if (token === undefined || token === "") {
      throw new ConfigInvalidError(
        'remote mode needs the bridge\'s token: set "token" in the provider settings or SANDPORT_BRIDGE_TOKEN',
        { providerId },
      );
    }
    if (!isSafeBridgeUrl(url)) {
      throw new ConfigInvalidError(
        "the bridge URL must be an https URL (plain http only to loopback), so the token never travels in clear",
        { providerId },
      );
    }
    if (!isHeaderSafeToken(token)) {
      throw new ConfigInvalidError(
        'the bridge\'s token ("token" or SANDPORT_BRIDGE_TOKEN) holds whitespace or characters that cannot travel in an HTTP header',
        { providerId },
      );
    }
    const base = new URL(url.endsWith("/") ? url : `${url}/`);
    this.#endpoint = { base, token, fetch: this.#settings.fetch ?? globalThis.fetch };
    return this.#endpoint;
  }

  /** Sends a request; a non-2xx answer becomes the matching sandport error. */
  async send(request: BridgeRequest): Promise<Response> {
    const providerId = this.#settings.providerId;
    const endpoint = this.#resolve();
    throwIfAborted(request.signal, providerId);
    const headers: Record<string, string> = { authorization: `Bearer ${endpoint.token}` };
    let body: string | Uint8Array | undefined;
    if (request.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(request.json);
    } else if (request.bytes !== undefined) {
      headers["content-type"] = "application/octet-stream";
      body = request.bytes;
    }
    let response: Response;
    try {
      response = await endpoint.fetch(new URL(request.path.replace(/^\//, ""), endpoint.base), {
        method: request.method,
        headers,
        ...(body === undefined ? {} : { body: body as never }),
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      });
    } catch (error) {
      if (request.signal?.aborted) {
        throw new AbortedError("the request to the bridge was aborted", {
          providerId,
          cause: request.signal.reason,
        });
      }
      throw new ProviderUnavailableError("the bridge could not be reached", { providerId, cause: error });
    }
    if (!response.ok) {
      throw bridgeResponseError(
        response.status,
        await response.text().catch(() => ""),
        response.headers,
        providerId,
      );
    }
    return response;
  }
}
