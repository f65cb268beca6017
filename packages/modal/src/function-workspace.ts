/**
 * The files of a `modal-function` sandbox, kept with the caller: a function call has no disk that
 * outlives it, so the whole workspace travels with every call and what the command changed comes
 * back in its reply. File calls work on this tree directly. They never follow a symbolic link
 * (its target is only meaningful inside a container): a path through a link is refused with
 * `InvalidRequestError`, which is what the spec asks of a provider that works outside the sandbox.
 */
import {
  type FileInfo,
  InvalidRequestError,
  NotFoundError,
  normalizeAbsolutePath,
  OutputLimitError,
  SandportError,
} from "@sandport/core";

/** Where the workspace is inside the function container (the runner's WORKSPACE). */
export const functionWorkspaceRoot = "/workspace";

/** One entry of the tree. */
export type WorkspaceEntry =
  | { kind: "file"; data: Uint8Array; mode: number; modifiedAt: Date }
  | { kind: "directory"; modifiedAt: Date }
  | { kind: "symlink"; target: string; modifiedAt: Date };

/** An entry as the runner takes it (`path` relative to the workspace). */
export interface RunnerEntry {
  path: string;
  kind: "file" | "directory" | "symlink";
  data?: Uint8Array;
  mode?: number;
  target?: string;
}

/** An entry as the runner reports it after a command. */
export interface ReportedEntry {
  path: string;
  kind: string;
  mode?: number | null;
  changed?: boolean | null;
  data?: Uint8Array | null;
  target?: string | null;
}

/** What was sent with one call, to merge its reply against. */
export type WorkspaceSnapshot = ReadonlyMap<string, WorkspaceEntry>;

const encoder = new TextEncoder();

function parentOf(relative: string): string {
  const slash = relative.lastIndexOf("/");
  return slash === -1 ? "" : relative.slice(0, slash);
}

function nameOf(relative: string): string {
  return relative.slice(relative.lastIndexOf("/") + 1);
}

/**
 * A sandbox path (relative to /workspace, or absolute inside it) as a workspace-relative key: `""`
 * is the workspace itself (only where `allowRoot`). Anything outside is `InvalidRequestError`.
 */
export function workspaceKey(path: string, field: string, providerId: string, allowRoot = false): string {
  const absolute = normalizeAbsolutePath(path.startsWith("/") ? path : `${functionWorkspaceRoot}/${path}`);
  if (absolute === functionWorkspaceRoot) {
    if (allowRoot) return "";
    throw new InvalidRequestError(`${field} "${path}" names the workspace itself, not a file`, {
      providerId,
    });
  }
  if (!absolute.startsWith(`${functionWorkspaceRoot}/`)) {
    throw new InvalidRequestError(
      `${field} "${path}" is outside the sandbox workspace (${functionWorkspaceRoot})`,
      {
        providerId,
      },
    );
  }
  return absolute.slice(functionWorkspaceRoot.length + 1);
}

/** The tree of one sandbox. */
export class FunctionWorkspace {
  readonly #entries = new Map<string, WorkspaceEntry>();
  readonly #providerId: string;
  readonly #maxBytes: number;
  readonly #rootModifiedAt = new Date();

  constructor(providerId: string, maxBytes: number) {
    this.#providerId = providerId;
    this.#maxBytes = maxBytes;
  }

  /** Bytes of all files. */
  get size(): number {
    let total = 0;
    for (const entry of this.#entries.values()) if (entry.kind === "file") total += entry.data.byteLength;
    return total;
  }

  /** Drops everything (destroy). */
  clear(): void {
    this.#entries.clear();
  }

  // ---- travelling with a call -----------------------------------------------------------------

  /** The entries to send with a call, and the snapshot to merge its reply against. */
  snapshot(): { entries: RunnerEntry[]; sent: WorkspaceSnapshot } {
    const sent = new Map(this.#entries);
    const entries: RunnerEntry[] = [];
    for (const [path, entry] of sent) {
      if (entry.kind === "file") entries.push({ path, kind: "file", data: entry.data, mode: entry.mode });
      else if (entry.kind === "directory") entries.push({ path, kind: "directory" });
      else entries.push({ path, kind: "symlink", target: entry.target });
    }
    return { entries, sent };
  }

  /**
   * Applies a reply: entries the command removed go, changed files take their new content. Only
   * what this call changed is applied, against what it was sent, so concurrent calls and file calls
   * made meanwhile keep their own changes.
   */
  applyReply(sent: WorkspaceSnapshot, reported: readonly ReportedEntry[]): void {
    const now = new Date();
    const present = new Set<string>();
    for (const item of reported) {
      let key: string;
      try {
        key = workspaceKey(item.path, "path", this.#providerId);
      } catch {
        continue; // A path the runner should never report: ignored rather than trusted.
      }
      present.add(key);
      const before = sent.get(key);
      const current = this.#entries.get(key);
      if (item.kind === "directory") {
        if (current?.kind !== "directory") this.#entries.set(key, { kind: "directory", modifiedAt: now });
      } else if (item.kind === "symlink") {
        const target = item.target ?? "";
        if (current?.kind !== "symlink" || current.target !== target) {
          this.#entries.set(key, { kind: "symlink", target, modifiedAt: now });
        }
      } else if (item.kind === "file") {
        const mode = item.mode ?? 0o644;
        if (item.changed === true || before === undefined || before.kind !== "file") {
          if (item.data === undefined || item.data === null) continue;
          this.#entries.set(key, { kind: "file", data: new Uint8Array(item.data), mode, modifiedAt: now });
        } else if (current === before && before.mode !== mode) {
          this.#entries.set(key, { ...before, mode, modifiedAt: now });
        }
      }
    }
    for (const [key, entry] of sent) {
      if (!present.has(key) && this.#entries.get(key) === entry) this.#entries.delete(key);
    }
  }

  // ---- file calls -----------------------------------------------------------------------------

  #fail(message: string): never {
    throw new InvalidRequestError(message, { providerId: this.#providerId });
  }

  /** Checks every ancestor of `key`: each must be a directory (the root always is). */
  #ancestors(key: string, path: string, create: boolean): void {
    const parts = key.split("/");
    for (let index = 1; index < parts.length; index++) {
      const ancestor = parts.slice(0, index).join("/");
      const entry = this.#entries.get(ancestor);
      if (entry === undefined) {
        if (!create)
          throw new NotFoundError(`${path}: no such file or directory`, { providerId: this.#providerId });
        this.#entries.set(ancestor, { kind: "directory", modifiedAt: new Date() });
      } else if (entry.kind === "symlink") {
        this.#fail(`${path}: passes through the symbolic link ${ancestor}, which file calls do not follow`);
      } else if (entry.kind === "file") {
        this.#fail(`${path}: ${ancestor} is a file, not a directory`);
      }
    }
  }

  #entry(key: string, path: string): WorkspaceEntry {
    if (key === "") return { kind: "directory", modifiedAt: this.#rootModifiedAt };
    this.#ancestors(key, path, false);
    const entry = this.#entries.get(key);
    if (entry === undefined)
      throw new NotFoundError(`${path}: no such file or directory`, { providerId: this.#providerId });
    return entry;
  }

  #info(key: string, entry: WorkspaceEntry): FileInfo {
    return {
      name: key === "" ? "workspace" : nameOf(key),
      path: key === "" ? functionWorkspaceRoot : `${functionWorkspaceRoot}/${key}`,
      type: entry.kind,
      size:
        entry.kind === "file"
          ? entry.data.byteLength
          : entry.kind === "symlink"
            ? encoder.encode(entry.target).byteLength
            : 0,
      modifiedAt: entry.modifiedAt,
    };
  }

  read(key: string, path: string): Uint8Array {
    const entry = this.#entry(key, path);
    if (entry.kind === "symlink") this.#fail(`${path}: is a symbolic link, which file calls do not follow`);
    if (entry.kind === "directory") this.#fail(`${path}: is a directory`);
    return entry.data.slice();
  }

  write(key: string, path: string, data: Uint8Array): void {
    const existing = this.#entries.get(key);
    if (existing?.kind === "directory") this.#fail(`${path}: is a directory`);
    if (existing?.kind === "symlink")
      this.#fail(`${path}: is a symbolic link, which file calls do not follow`);
    const growth = data.byteLength - (existing?.kind === "file" ? existing.data.byteLength : 0);
    if (this.size + growth > this.#maxBytes) {
      this.#fail(
        `${path}: the sandbox's files would exceed ${this.#maxBytes} bytes (providers.${this.#providerId}.maxWorkspaceBytes); they travel with every call`,
      );
    }
    this.#ancestors(key, path, true);
    this.#entries.set(key, {
      kind: "file",
      data: data.slice(),
      mode: existing?.kind === "file" ? existing.mode : 0o644,
      modifiedAt: new Date(),
    });
  }

  stat(key: string, path: string): FileInfo {
    return this.#info(key, this.#entry(key, path));
  }

  /** Whether `key` is a directory reached without links (the root always is). */
  isDirectory(key: string): boolean | undefined {
    try {
      return this.#entry(key, key).kind === "directory";
    } catch (error) {
      return SandportError.isInstance(error) && error.code === "not_found" ? false : undefined;
    }
  }

  list(key: string, path: string, recursive: boolean, maxEntries: number): FileInfo[] {
    const entry = this.#entry(key, path);
    if (entry.kind === "symlink") this.#fail(`${path}: is a symbolic link, which file calls do not follow`);
    if (entry.kind !== "directory") this.#fail(`${path}: is not a directory`);
    const prefix = key === "" ? "" : `${key}/`;
    const found: FileInfo[] = [];
    for (const [candidate, item] of [...this.#entries].sort(([left], [right]) => left.localeCompare(right))) {
      if (!candidate.startsWith(prefix)) continue;
      const rest = candidate.slice(prefix.length);
      if (!recursive && rest.includes("/")) continue;
      // Recursion does not descend through links: an entry under a link cannot exist in the tree.
      found.push(this.#info(candidate, item));
      if (found.length > maxEntries) {
        throw new OutputLimitError(`${path}: more than ${maxEntries} entries (maxEntries)`, {
          providerId: this.#providerId,
        });
      }
    }
    return found;
  }

  makeDirectory(key: string, path: string, recursive: boolean): void {
    const existing = this.#entries.get(key);
    if (recursive) {
      this.#ancestors(key, path, true);
      if (existing?.kind === "directory") return;
      if (existing !== undefined) this.#fail(`${path}: exists and is not a directory`);
    } else {
      this.#ancestors(key, path, false);
      if (existing !== undefined) this.#fail(`${path}: already exists`);
    }
    this.#entries.set(key, { kind: "directory", modifiedAt: new Date() });
  }

  remove(key: string, path: string, recursive: boolean): void {
    const entry = this.#entry(key, path);
    const children = [...this.#entries.keys()].filter((candidate) => candidate.startsWith(`${key}/`));
    if (entry.kind === "directory" && children.length > 0 && !recursive) {
      this.#fail(`${path}: the directory is not empty (set recursive)`);
    }
    for (const child of children) this.#entries.delete(child);
    this.#entries.delete(key);
  }

  rename(fromKey: string, from: string, toKey: string, to: string): void {
    const source = this.#entry(fromKey, from);
    if (toKey === fromKey) return;
    if (toKey.startsWith(`${fromKey}/`)) this.#fail(`${to}: cannot move ${from} into itself`);
    this.#ancestors(toKey, to, false);
    const parent = parentOf(toKey);
    if (parent !== "" && this.#entries.get(parent)?.kind !== "directory") {
      throw new NotFoundError(`${to}: no such directory`, { providerId: this.#providerId });
    }
    const target = this.#entries.get(toKey);
    if (target?.kind === "directory") {
      if (source.kind !== "directory") this.#fail(`${to}: is a directory`);
      if ([...this.#entries.keys()].some((candidate) => candidate.startsWith(`${toKey}/`))) {
        this.#fail(`${to}: the directory is not empty`);
      }
    } else if (target !== undefined && source.kind === "directory") {
      this.#fail(`${to}: is not a directory`);
    }
    const moved = [...this.#entries].filter(
      ([candidate]) => candidate === fromKey || candidate.startsWith(`${fromKey}/`),
    );
    for (const [candidate] of moved) this.#entries.delete(candidate);
    for (const [candidate, item] of moved)
      this.#entries.set(`${toKey}${candidate.slice(fromKey.length)}`, item);
  }
}
