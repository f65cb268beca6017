/** A sandbox of remote mode: its state lives in the bridge's Durable Object, reached over HTTPS. */
import { type CallOptions, type ExecResult, NotFoundError, type RunCodeOptions } from "@sandport/core";
import type { BridgeRunBody } from "./bridge-protocol.ts";
import { IsolateSandbox } from "./isolate-sandbox.ts";
import type { ResolvedIsolateSettings } from "./isolate-settings.ts";
import type { RemoteBridgeClient } from "./remote-bridge-client.ts";
import { bridgeRunResultSchema, execResultOf, parseBridgeJson } from "./run-request.ts";

/** A file path in the bridge's URL: each segment percent-encoded. */
function filePath(vendorId: string, relative: string): string {
  return `/v1/sandboxes/${vendorId}/files/${relative.split("/").map(encodeURIComponent).join("/")}`;
}

/** A remote-mode sandbox handle. */
export class RemoteIsolateSandbox extends IsolateSandbox {
  readonly #vendorId: string;
  readonly #client: RemoteBridgeClient;

  constructor(vendorId: string, settings: ResolvedIsolateSettings, client: RemoteBridgeClient) {
    super(`${settings.providerId}:${vendorId}`, settings);
    this.#vendorId = vendorId;
    this.#client = client;
  }

  protected async run(body: BridgeRunBody, options: RunCodeOptions): Promise<ExecResult> {
    const response = await this.#client.send({
      method: "POST",
      path: `/v1/sandboxes/${this.#vendorId}/run`,
      json: body,
      signal: options.signal,
    });
    const result = parseBridgeJson(await response.text(), bridgeRunResultSchema, this.settings.providerId);
    return execResultOf(result, options, this.settings.providerId);
  }

  protected async readWorkspaceFile(
    relative: string,
    path: string,
    options?: CallOptions,
  ): Promise<Uint8Array> {
    try {
      const response = await this.#client.send({
        method: "GET",
        path: filePath(this.#vendorId, relative),
        signal: options?.signal,
      });
      return new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      if (!NotFoundError.isInstance(error)) throw error;
      throw new NotFoundError(`no file "${path}" in sandbox ${this.id}`, {
        providerId: this.settings.providerId,
        cause: error,
      });
    }
  }

  protected async writeWorkspaceFile(
    relative: string,
    bytes: Uint8Array,
    options?: CallOptions,
  ): Promise<void> {
    await this.#client.send({
      method: "PUT",
      path: filePath(this.#vendorId, relative),
      bytes,
      signal: options?.signal,
    });
  }

  async destroy(options?: CallOptions): Promise<void> {
    try {
      await this.#client.send({
        method: "DELETE",
        path: `/v1/sandboxes/${this.#vendorId}`,
        signal: options?.signal,
      });
    } catch (error) {
      // Already gone is what destroy wants.
      if (!NotFoundError.isInstance(error)) throw error;
    }
  }
}
