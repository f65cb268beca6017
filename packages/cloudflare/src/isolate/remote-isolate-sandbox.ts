/** A sandbox of remote mode: its state lives in the bridge's Durable Object, reached over HTTPS. */
import {
  type CallOptions,
  type ExecResult,
  InvalidRequestError,
  NotFoundError,
  type RunCodeOptions,
} from "@sandport/core";
import { z } from "zod";
import type {
  BridgeListBody,
  BridgePathBody,
  BridgeRecursiveBody,
  BridgeRenameBody,
  BridgeRunBody,
} from "./bridge-protocol.ts";
import { IsolateSandbox } from "./isolate-sandbox.ts";
import type { ResolvedIsolateSettings } from "./isolate-settings.ts";
import type { RemoteBridgeClient } from "./remote-bridge-client.ts";
import { bridgeRunResultSchema, execResultOf, parseBridgeJson } from "./run-request.ts";
import type { WorkspaceEntry } from "./workspace-entries.ts";

/** A file path in the bridge's URL: each segment percent-encoded. */
function filePath(vendorId: string, relative: string): string {
  return `/v1/sandboxes/${vendorId}/files/${relative.split("/").map(encodeURIComponent).join("/")}`;
}

const fileEntrySchema = z.object({
  path: z.string(),
  type: z.enum(["file", "directory"]),
  size: z.number().nonnegative(),
  modifiedAt: z.number(),
});

const fileListSchema = z.object({ entries: z.array(fileEntrySchema) });

/** How a workspace path reads in messages. */
function shown(relative: string): string {
  return JSON.stringify(relative === "" ? "/workspace" : `/workspace/${relative}`);
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
      if (InvalidRequestError.isInstance(error)) {
        // The bridge refuses to read what is not a file (a directory).
        throw new InvalidRequestError(`readFile "${path}": not a file in sandbox ${this.id}`, {
          providerId: this.settings.providerId,
          cause: error,
        });
      }
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

  protected async listEntries(
    relative: string,
    recursive: boolean,
    maxEntries: number,
    signal: AbortSignal | undefined,
  ): Promise<WorkspaceEntry[]> {
    const body: BridgeListBody = { path: relative, recursive, maxEntries };
    const text = await this.#fileSystem("list", body, `listFiles ${shown(relative)}`, signal);
    return parseBridgeJson(text, fileListSchema, this.settings.providerId).entries;
  }

  protected async statEntry(relative: string, signal: AbortSignal | undefined): Promise<WorkspaceEntry> {
    const body: BridgePathBody = { path: relative };
    const text = await this.#fileSystem("stat", body, `statFile ${shown(relative)}`, signal);
    return parseBridgeJson(text, fileEntrySchema, this.settings.providerId);
  }

  protected async makeEntryDirectory(
    relative: string,
    recursive: boolean,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const body: BridgeRecursiveBody = { path: relative, recursive };
    await this.#fileSystem("mkdir", body, `makeDirectory ${shown(relative)}`, signal);
  }

  protected async removeEntry(
    relative: string,
    recursive: boolean,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const body: BridgeRecursiveBody = { path: relative, recursive };
    await this.#fileSystem("remove", body, `removeFile ${shown(relative)}`, signal);
  }

  protected async renameEntry(from: string, to: string, signal: AbortSignal | undefined): Promise<void> {
    const body: BridgeRenameBody = { from, to };
    await this.#fileSystem("rename", body, `renameFile ${shown(from)} -> ${shown(to)}`, signal);
  }

  /**
   * `POST /v1/sandboxes/{id}/fs/{operation}`; the bridge's `not_found` and `invalid_request` keep
   * their codes and gain the call in their message.
   */
  async #fileSystem(
    operation: string,
    body: unknown,
    call: string,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    let response: Response;
    try {
      response = await this.#client.send({
        method: "POST",
        path: `/v1/sandboxes/${this.#vendorId}/fs/${operation}`,
        json: body,
        signal,
      });
    } catch (error) {
      const options = { providerId: this.settings.providerId, cause: error };
      if (NotFoundError.isInstance(error)) throw new NotFoundError(`${call}: ${error.message}`, options);
      if (InvalidRequestError.isInstance(error))
        throw new InvalidRequestError(`${call}: ${error.message}`, options);
      throw error;
    }
    return response.text();
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
