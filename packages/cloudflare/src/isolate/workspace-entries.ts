/**
 * The entries (files and directories) of an isolate sandbox's workspace, and what each file call
 * does to them, as pure data. Local mode applies the changes to the files it keeps in Node; the
 * isolate Worker's Durable Object applies them to its SQLite storage. Both modes therefore answer
 * every call, and fail it, the same way.
 *
 * Directories are explicit entries: `makeDirectory`, `writeFile` (for the parents it creates) and
 * each run (for what the code left in the workspace) record them, so an empty directory lives on
 * and code sees it through `node:fs`. A directory that holds entries but was never recorded (state
 * written before directories were kept) still counts as one.
 *
 * Paths are relative to the workspace, `/`-separated and normalized; `""` is the workspace itself.
 * No imports: the Worker loads this module as it is.
 */

/** Kinds of entries an isolate workspace holds (code's links and special files are not kept). */
export type WorkspaceEntryType = "file" | "directory";

/** What is stored about one entry. */
export interface StoredEntry {
  type: WorkspaceEntryType;
  /** Bytes; 0 for a directory. */
  size: number;
  /** Last modification, ms since the epoch. */
  modifiedAt: number;
}

/** One entry as the file calls report it. */
export interface WorkspaceEntry extends StoredEntry {
  /** Relative to the workspace; `""` for the workspace itself. */
  path: string;
}

/** Why a call fails, as the sandport error codes name it. */
export type EntryFailureCode = "not_found" | "invalid_request";

/** A failed call. */
export interface EntryFailure {
  ok: false;
  code: EntryFailureCode;
  message: string;
}

/** What a call changes, applied in this order: deletions, moves, then new directories. */
export interface EntryChanges {
  ok: true;
  /** Files to delete. */
  deleteFiles: string[];
  /** Recorded directories to forget. */
  deleteDirectories: string[];
  /** Files and recorded directories to move; each keeps its content and modification time. */
  moves: { from: string; to: string; type: WorkspaceEntryType }[];
  /** Directories to record (modified now), unless already recorded. */
  addDirectories: string[];
}

/** A listing: at most `maxEntries + 1` entries, sorted by path, so the caller sees that there were more. */
export interface EntryListing {
  ok: true;
  entries: WorkspaceEntry[];
}

function failure(code: EntryFailureCode, message: string): EntryFailure {
  return { ok: false, code, message };
}

function changes(partial: Partial<Omit<EntryChanges, "ok">> = {}): EntryChanges {
  return { ok: true, deleteFiles: [], deleteDirectories: [], moves: [], addDirectories: [], ...partial };
}

/** `"a/b"` -> `"a"`; `"a"` -> `""`. */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? "" : path.slice(0, slash);
}

/** Proper ancestors of `path`, nearest last, without the workspace itself: `"a/b/c"` -> `["a", "a/b"]`. */
function ancestorsOf(path: string): string[] {
  const parts = path.split("/");
  const ancestors: string[] = [];
  for (let index = 1; index < parts.length; index += 1) ancestors.push(parts.slice(0, index).join("/"));
  return ancestors;
}

function isBelow(path: string, directory: string): boolean {
  return directory === "" ? path !== "" : path.startsWith(`${directory}/`);
}

/** How a path reads in messages: as the caller's sandbox path. */
function shown(path: string): string {
  return JSON.stringify(path === "" ? "/workspace" : `/workspace/${path}`);
}

/** The workspace's entries at one moment, and the changes each file call would make to them. */
export class WorkspaceIndex {
  /** Every entry: stored files, recorded directories, and directories implied by what they hold. */
  readonly #entries = new Map<string, StoredEntry>();
  /** Recorded directories. */
  readonly #recorded = new Set<string>();
  /** Direct children of each directory. */
  readonly #children = new Map<string, string[]>();

  /**
   * @param stored every file and every recorded directory
   * @param rootModifiedAt the workspace's own modification time when nothing in it says otherwise
   */
  constructor(stored: Iterable<readonly [string, StoredEntry]>, rootModifiedAt: number) {
    this.#entries.set("", { type: "directory", size: 0, modifiedAt: rootModifiedAt });
    const entries = [...stored];
    for (const [path, entry] of entries) {
      if (path === "") continue;
      this.#entries.set(path, { ...entry, size: entry.type === "directory" ? 0 : entry.size });
      if (entry.type === "directory") this.#recorded.add(path);
    }
    // Implied directories take the latest time of what they hold.
    for (const [path, entry] of entries) {
      if (path === "") continue;
      for (const ancestor of ["", ...ancestorsOf(path)]) {
        const existing = this.#entries.get(ancestor);
        if (existing === undefined) {
          this.#entries.set(ancestor, { type: "directory", size: 0, modifiedAt: entry.modifiedAt });
        } else if (!this.#recorded.has(ancestor) && existing.type === "directory") {
          existing.modifiedAt = Math.max(existing.modifiedAt, entry.modifiedAt);
        }
      }
    }
    for (const path of this.#entries.keys()) {
      if (path === "") continue;
      const parent = parentPath(path);
      const siblings = this.#children.get(parent);
      if (siblings === undefined) this.#children.set(parent, [path]);
      else siblings.push(path);
    }
  }

  /** The entry at `path`, or `undefined`. */
  get(path: string): StoredEntry | undefined {
    return this.#entries.get(path);
  }

  /** Whether the entry at `path` (a directory) is recorded rather than implied. */
  isRecorded(path: string): boolean {
    return this.#recorded.has(path);
  }

  /** `statFile`. */
  stat(path: string): WorkspaceEntry | EntryFailure {
    const entry = this.#entries.get(path);
    if (entry === undefined) return failure("not_found", `no such file or directory: ${shown(path)}`);
    return { path, ...entry };
  }

  /** `readFile`'s check: a file, or why not. */
  checkReadable(path: string): { ok: true } | EntryFailure {
    const entry = this.#entries.get(path);
    if (entry === undefined) return failure("not_found", `no such file: ${shown(path)}`);
    if (entry.type !== "file") return failure("invalid_request", `${shown(path)} is a directory, not a file`);
    return { ok: true };
  }

  /** `listFiles`: what `path` holds (and, with `recursive`, what its subdirectories hold). */
  list(path: string, recursive: boolean, maxEntries: number): EntryListing | EntryFailure {
    const entry = this.#entries.get(path);
    if (entry === undefined) return failure("not_found", `no such directory: ${shown(path)}`);
    if (entry.type !== "directory") {
      return failure("invalid_request", `${shown(path)} is a file, not a directory`);
    }
    const entries: WorkspaceEntry[] = [];
    const pending = [path];
    for (let directory = pending.pop(); directory !== undefined; directory = pending.pop()) {
      for (const child of this.#children.get(directory) ?? []) {
        const childEntry = this.#entries.get(child) as StoredEntry;
        entries.push({ path: child, ...childEntry });
        // One past the limit is enough for the caller to tell there were more.
        if (entries.length > maxEntries) return { ok: true, entries: sortedByPath(entries) };
        if (recursive && childEntry.type === "directory") pending.push(child);
      }
    }
    return { ok: true, entries: sortedByPath(entries) };
  }

  /**
   * `writeFile`'s check: refuses a directory at `path` and a file in place of a parent; records
   * the parents it creates.
   */
  planWrite(path: string): EntryChanges | EntryFailure {
    const entry = this.#entries.get(path);
    if (entry?.type === "directory") {
      return failure("invalid_request", `${shown(path)} is a directory; a file cannot replace it`);
    }
    const blocked = this.#fileAmong(ancestorsOf(path));
    if (blocked !== undefined) return blocked;
    return changes({ addDirectories: this.#unrecorded(ancestorsOf(path)) });
  }

  /** `makeDirectory`. */
  planMakeDirectory(path: string, recursive: boolean): EntryChanges | EntryFailure {
    const entry = this.#entries.get(path);
    if (entry?.type === "file") return failure("invalid_request", `${shown(path)} exists and is a file`);
    if (entry !== undefined && !recursive) {
      return failure("invalid_request", `${shown(path)} already exists`);
    }
    if (path === "") return changes();
    if (recursive) {
      const blocked = this.#fileAmong(ancestorsOf(path));
      if (blocked !== undefined) return blocked;
      return changes({ addDirectories: this.#unrecorded([...ancestorsOf(path), path]) });
    }
    const parent = parentPath(path);
    const parentEntry = this.#entries.get(parent);
    if (parentEntry === undefined) {
      return failure("not_found", `the parent directory ${shown(parent)} does not exist (use recursive)`);
    }
    if (parentEntry.type !== "directory") {
      return failure("invalid_request", `the parent ${shown(parent)} is a file, not a directory`);
    }
    return changes({ addDirectories: this.#unrecorded([...ancestorsOf(path), path]) });
  }

  /** `removeFile`. The workspace itself cannot be removed. */
  planRemove(path: string, recursive: boolean): EntryChanges | EntryFailure {
    if (path === "") return failure("invalid_request", "the workspace itself cannot be removed");
    const entry = this.#entries.get(path);
    if (entry === undefined) return failure("not_found", `no such file or directory: ${shown(path)}`);
    // What held the entry stays, even where it was only implied by it.
    const keepParents = this.#unrecorded(ancestorsOf(path));
    if (entry.type === "file") return changes({ deleteFiles: [path], addDirectories: keepParents });
    const below = [...this.#entries.keys()].filter((candidate) => isBelow(candidate, path));
    if (below.length > 0 && !recursive) {
      return failure("invalid_request", `the directory ${shown(path)} is not empty (use recursive)`);
    }
    return changes({
      deleteFiles: below.filter((candidate) => this.#entries.get(candidate)?.type === "file"),
      deleteDirectories: [...below, path].filter((candidate) => this.#recorded.has(candidate)),
      addDirectories: keepParents,
    });
  }

  /**
   * `renameFile`: moves a file or a directory with everything in it. A file at `to` is replaced; a
   * directory at `to` is refused, as is a directory moved into itself or onto a file.
   */
  planRename(from: string, to: string): EntryChanges | EntryFailure {
    if (from === "" || to === "") return failure("invalid_request", "the workspace itself cannot be renamed");
    const entry = this.#entries.get(from);
    if (entry === undefined) return failure("not_found", `no such file or directory: ${shown(from)}`);
    if (from === to) return changes();
    if (entry.type === "directory" && isBelow(to, from)) {
      return failure(
        "invalid_request",
        `cannot move the directory ${shown(from)} into itself (${shown(to)})`,
      );
    }
    const parent = parentPath(to);
    const parentEntry = this.#entries.get(parent);
    if (parentEntry === undefined) {
      return failure("not_found", `the target's parent directory ${shown(parent)} does not exist`);
    }
    if (parentEntry.type !== "directory") {
      return failure("invalid_request", `the target's parent ${shown(parent)} is a file, not a directory`);
    }
    const target = this.#entries.get(to);
    if (target?.type === "directory") {
      return failure("invalid_request", `${shown(to)} is an existing directory; only a file can be replaced`);
    }
    if (target !== undefined && entry.type === "directory") {
      return failure(
        "invalid_request",
        `cannot replace the file ${shown(to)} with the directory ${shown(from)}`,
      );
    }
    const keep = this.#unrecorded([...ancestorsOf(from), ...ancestorsOf(to)]);
    if (entry.type === "file") {
      return changes({
        deleteFiles: target === undefined ? [] : [to],
        moves: [{ from, to, type: "file" }],
        addDirectories: keep,
      });
    }
    const moved = [...this.#entries.keys()].filter(
      (candidate) =>
        (candidate === from || isBelow(candidate, from)) &&
        (this.#entries.get(candidate)?.type === "file" || this.#recorded.has(candidate)),
    );
    const moves = moved.map((candidate) => ({
      from: candidate,
      to: `${to}${candidate.slice(from.length)}`,
      type: (this.#entries.get(candidate) as StoredEntry).type,
    }));
    // A directory that was only implied is recorded under its new name.
    return changes({ moves, addDirectories: this.#recorded.has(from) ? keep : [...keep, to] });
  }

  /** The failure for the first of `paths` that is a file, if any. */
  #fileAmong(paths: readonly string[]): EntryFailure | undefined {
    const file = paths.find((candidate) => this.#entries.get(candidate)?.type === "file");
    if (file === undefined) return undefined;
    return failure("invalid_request", `${shown(file)} is a file, not a directory`);
  }

  #unrecorded(paths: readonly string[]): string[] {
    return [...new Set(paths)].filter((candidate) => candidate !== "" && !this.#recorded.has(candidate));
  }
}

function sortedByPath(entries: WorkspaceEntry[]): WorkspaceEntry[] {
  return entries.sort((left, right) => (left.path < right.path ? -1 : left.path > right.path ? 1 : 0));
}
