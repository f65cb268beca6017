/** A sandbox of remote mode: its state lives in the isolate Worker's Durable Object, reached over HTTPS. */
import {
  type CallOptions,
  type ExecResult,
  encodeSandboxId,
  type HttpResponse,
  InvalidRequestError,
  NotFoundError,
  type RunCodeOptions,
} from "@sandport/core";
import * as z from "zod";
import { IsolateSandbox } from "./isolate-sandbox.ts";
import type { ResolvedIsolateSettings } from "./isolate-settings.ts";
import { answerText, type IsolateWorkerClient, runGraceMs } from "./isolate-worker-client.ts";
import type {
  IsolateWorkerListBody,
  IsolateWorkerPathBody,
  IsolateWorkerRecursiveBody,
  IsolateWorkerRenameBody,
  IsolateWorkerRunBody,
} from "./isolate-worker-protocol.ts";
import { execResultOf, isolateWorkerRunResultSchema, parseIsolateWorkerJson } from "./run-request.ts";
import type { WorkspaceEntry } from "./workspace-entries.ts";

/** A file path in the isolate Worker's URL: each segment percent-encoded. */
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
  readonly #client: IsolateWorkerClient;

  constructor(vendorId: string, settings: ResolvedIsolateSettings, client: IsolateWorkerClient) {
    super(encodeSandboxId(settings.providerId, vendorId), settings);
    this.#vendorId = vendorId;
    this.#client = client;
  }

  protected async run(body: IsolateWorkerRunBody, options: RunCodeOptions): Promise<ExecResult> {
    const response = await this.#client.send({
      method: "POST",
      path: `/v1/sandboxes/${this.#vendorId}/run`,
      what: "runCode",
      json: body,
      signal: options.signal,
      // The run has its own timeout inside the Worker; the request waits for it and a little more.
      timeoutMs: body.timeoutMs + runGraceMs,
    });
    const result = parseIsolateWorkerJson(
      answerText(response),
      isolateWorkerRunResultSchema,
      this.settings.providerId,
    );
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
        what: `readFile ${JSON.stringify(path)}`,
        signal: options?.signal,
      });
      return response.body;
    } catch (error) {
      if (InvalidRequestError.isInstance(error)) {
        // The Worker refuses to read what is not a file (a directory).
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
      what: `writeFile ${shown(relative)}`,
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
    const body: IsolateWorkerListBody = { path: relative, recursive, maxEntries };
    const text = await this.#fileSystem("list", body, `listFiles ${shown(relative)}`, signal);
    return parseIsolateWorkerJson(text, fileListSchema, this.settings.providerId).entries;
  }

  protected async statEntry(relative: string, signal: AbortSignal | undefined): Promise<WorkspaceEntry> {
    const body: IsolateWorkerPathBody = { path: relative };
    const text = await this.#fileSystem("stat", body, `statFile ${shown(relative)}`, signal);
    return parseIsolateWorkerJson(text, fileEntrySchema, this.settings.providerId);
  }

  protected async makeEntryDirectory(
    relative: string,
    recursive: boolean,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const body: IsolateWorkerRecursiveBody = { path: relative, recursive };
    await this.#fileSystem("mkdir", body, `makeDirectory ${shown(relative)}`, signal);
  }

  protected async removeEntry(
    relative: string,
    recursive: boolean,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const body: IsolateWorkerRecursiveBody = { path: relative, recursive };
    await this.#fileSystem("remove", body, `removeFile ${shown(relative)}`, signal);
  }

  protected async renameEntry(from: string, to: string, signal: AbortSignal | undefined): Promise<void> {
    const body: IsolateWorkerRenameBody = { from, to };
    await this.#fileSystem("rename", body, `renameFile ${shown(from)} -> ${shown(to)}`, signal);
  }

  /**
   * `POST /v1/sandboxes/{id}/fs/{operation}`; the Worker's `not_found` and `invalid_request` keep
   * their codes and gain the call in their message.
   */
  async #fileSystem(
    operation: string,
    body: unknown,
    call: string,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    let response: HttpResponse;
    try {
      response = await this.#client.send({
        method: "POST",
        path: `/v1/sandboxes/${this.#vendorId}/fs/${operation}`,
        what: call,
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
    return answerText(response);
  }

  async destroy(options?: CallOptions): Promise<void> {
    try {
      await this.#client.send({
        method: "DELETE",
        path: `/v1/sandboxes/${this.#vendorId}`,
        what: "destroy",
        signal: options?.signal,
      });
    } catch (error) {
      // Already gone is what destroy wants.
      if (!NotFoundError.isInstance(error)) throw error;
    }
  }
}
