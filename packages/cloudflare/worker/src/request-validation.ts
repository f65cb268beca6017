/**
 * Checks of request bodies. The Node-side provider already validated them; the isolate Worker checks again
 * because it is reachable by anyone holding the token. No library: the Worker is loaded module by
 * module in local mode, without a bundler.
 */

import { validAllowEntry } from "../../src/isolate/egress-policy.ts";
import type {
  IsolateWorkerCreateBody,
  IsolateWorkerEgress,
  IsolateWorkerExecuteBody,
  IsolateWorkerListBody,
  IsolateWorkerPathBody,
  IsolateWorkerRecursiveBody,
  IsolateWorkerRenameBody,
  IsolateWorkerRunBody,
} from "../../src/isolate/isolate-worker-protocol.ts";
import {
  envBounds,
  labelBounds,
  maxPathBytes,
  recordBoundsProblem,
  utf8Bytes,
} from "../../src/isolate/isolate-worker-protocol.ts";
import { IsolateWorkerFailure } from "./worker-responses.ts";

function invalid(message: string): never {
  throw new IsolateWorkerFailure("invalid_request", message);
}

function stringRecord(
  value: unknown,
  name: string,
  bounds?: { maxEntries: number; maxBytes: number },
): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value))
    invalid(`${name} must be an object`);
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== "string") invalid(`${name}.${key} must be a string`);
  }
  const record = { ...(value as Record<string, string>) };
  const problem = bounds === undefined ? undefined : recordBoundsProblem(record, name, bounds);
  if (problem !== undefined) invalid(problem);
  return record;
}

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    invalid(`${name} must be a positive integer`);
  }
  return value;
}

function nonNegativeInteger(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    invalid(`${name} must be a non-negative integer`);
  }
  return value;
}

function egressOf(value: unknown): IsolateWorkerEgress {
  if (value === undefined || value === "none") return "none";
  if (value === "open") return "open";
  if (typeof value === "object" && value !== null && Array.isArray((value as { allow?: unknown }).allow)) {
    const allow = (value as { allow: unknown[] }).allow;
    if (allow.every((entry) => typeof entry === "string" && validAllowEntry(entry))) {
      return { allow: allow as string[] };
    }
  }
  return invalid('egress must be "none", "open" or { allow: [host names, addresses or ranges] }');
}

/** The `labels` query of `GET /v1/sandboxes`: a JSON object of strings, or absent. */
export function parseLabelsQuery(query: string | null): Record<string, string> {
  if (query === null) return {};
  let labels: unknown;
  try {
    labels = JSON.parse(query);
  } catch {
    return invalid("labels must be a JSON object of strings");
  }
  return stringRecord(labels, "labels", labelBounds);
}

/** Body of `POST /v1/sandboxes`. */
export function parseCreateBody(body: Record<string, unknown>): IsolateWorkerCreateBody {
  return {
    env: stringRecord(body.env, "env", envBounds),
    egress: egressOf(body.egress),
    labels: stringRecord(body.labels, "labels", labelBounds),
    ...(body.ttlMs === undefined ? {} : { ttlMs: positiveInteger(body.ttlMs, "ttlMs") }),
    ...(body.maxFilesBytes === undefined
      ? {}
      : { maxFilesBytes: nonNegativeInteger(body.maxFilesBytes, "maxFilesBytes") }),
  };
}

/** Body of `POST /v1/sandboxes/{id}/run`, with the code size checked. */
export function parseRunBody(body: Record<string, unknown>, maxCodeBytes: number): IsolateWorkerRunBody {
  if (typeof body.code !== "string") invalid("code must be a string");
  const codeBytes = new TextEncoder().encode(body.code).byteLength;
  if (codeBytes > maxCodeBytes) invalid(`code is ${codeBytes} bytes, over the limit of ${maxCodeBytes}`);
  return {
    code: body.code,
    env: stringRecord(body.env, "env", envBounds),
    timeoutMs: positiveInteger(body.timeoutMs, "timeoutMs"),
    maxOutputBytes: nonNegativeInteger(body.maxOutputBytes, "maxOutputBytes"),
    filesystem: body.filesystem === true,
    process: body.process === true,
  };
}

/** Body of `POST /v1/execute`. */
export function parseExecuteBody(
  body: Record<string, unknown>,
  maxCodeBytes: number,
): IsolateWorkerExecuteBody {
  return {
    ...parseRunBody(body, maxCodeBytes),
    egress: egressOf(body.egress),
    files: stringRecord(body.files, "files"),
    directories: directoryList(body.directories),
    maxFilesBytes: nonNegativeInteger(body.maxFilesBytes, "maxFilesBytes"),
  };
}

function directoryList(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) invalid("directories must be an array of paths");
  return value.map((entry, index) => entryPath(entry, `directories[${index}]`, false));
}

/**
 * A path of an `fs` body: relative to the workspace, `/`-separated, no empty, `.` or `..` segment;
 * `""` (the workspace itself) only where `root` allows it.
 */
function entryPath(value: unknown, name: string, root: boolean): string {
  if (typeof value !== "string") invalid(`${name} must be a string`);
  if (value === "" && root) return value;
  if (utf8Bytes(value) > maxPathBytes) invalid(`${name} is over ${maxPathBytes} bytes`);
  const segments = value.split("/");
  if (
    value.includes("\0") ||
    segments.some((segment) => segment === "" || segment === "." || segment === "..")
  ) {
    invalid(`${name} must be relative to the workspace, without empty, . or .. segments`);
  }
  return value;
}

function booleanOf(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") invalid(`${name} must be a boolean`);
  return value;
}

/** Body of `POST /v1/sandboxes/{id}/fs/stat`. */
export function parsePathBody(body: Record<string, unknown>): IsolateWorkerPathBody {
  return { path: entryPath(body.path, "path", true) };
}

/** Body of `POST /v1/sandboxes/{id}/fs/mkdir` and `.../fs/remove`. */
export function parseRecursiveBody(body: Record<string, unknown>): IsolateWorkerRecursiveBody {
  return { path: entryPath(body.path, "path", true), recursive: booleanOf(body.recursive, "recursive") };
}

/** Body of `POST /v1/sandboxes/{id}/fs/list`. */
export function parseListBody(body: Record<string, unknown>): IsolateWorkerListBody {
  return { ...parseRecursiveBody(body), maxEntries: positiveInteger(body.maxEntries, "maxEntries") };
}

/** Body of `POST /v1/sandboxes/{id}/fs/rename`. */
export function parseRenameBody(body: Record<string, unknown>): IsolateWorkerRenameBody {
  return { from: entryPath(body.from, "from", true), to: entryPath(body.to, "to", true) };
}

/**
 * A file path inside the workspace, from the URL: relative, `/`-separated, no empty, `.` or `..`
 * segment. The Node side normalizes paths before sending, so anything else is refused.
 */
export function workspaceFilePath(encoded: string): string {
  let path: string;
  try {
    path = decodeURIComponent(encoded);
  } catch {
    return invalid("the file path is not valid percent-encoding");
  }
  if (utf8Bytes(path) > maxPathBytes) invalid(`the file path is over ${maxPathBytes} bytes`);
  const segments = path.split("/");
  if (
    path.includes("\0") ||
    segments.some((segment) => segment === "" || segment === "." || segment === "..")
  ) {
    invalid("the file path must be relative to the workspace, without empty, . or .. segments");
  }
  return path;
}
