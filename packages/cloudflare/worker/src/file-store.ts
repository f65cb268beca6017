/**
 * A sandbox's files in its Durable Object's SQLite storage. Rows are capped at 2 MB there, so
 * each file is stored in 1 MiB chunks. The `entries` table records directories (so an empty one
 * exists) and the modification time of files and directories; a file stored before it existed has
 * no row there and reports the sandbox's creation time.
 */
import { type EntryChanges, type StoredEntry, WorkspaceIndex } from "../../src/isolate/workspace-entries.ts";

const chunkBytes = 1024 * 1024;

/** File storage of one sandbox. */
export class FileStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#sql.exec(
      "CREATE TABLE IF NOT EXISTS files (path TEXT NOT NULL, chunk INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (path, chunk))",
    );
    this.#sql.exec(
      "CREATE TABLE IF NOT EXISTS entries (path TEXT PRIMARY KEY, directory INTEGER NOT NULL, modified_at INTEGER NOT NULL)",
    );
  }

  /**
   * What the files cost against the limits: contents plus the UTF-8 bytes of every file's and
   * directory's path, and how many entries there are.
   */
  usage(): { bytes: number; entries: number } {
    const files = this.#sql
      .exec<{ data: number | null; paths: number | null; count: number }>(
        "SELECT SUM(size) AS data, SUM(length(CAST(path AS BLOB))) AS paths, COUNT(*) AS count FROM (SELECT path, SUM(length(data)) AS size FROM files GROUP BY path)",
      )
      .one();
    const directories = this.#sql
      .exec<{ paths: number | null; count: number }>(
        "SELECT SUM(length(CAST(path AS BLOB))) AS paths, COUNT(*) AS count FROM entries WHERE directory = 1",
      )
      .one();
    return {
      bytes: (files.data ?? 0) + (files.paths ?? 0) + (directories.paths ?? 0),
      entries: files.count + directories.count,
    };
  }

  /** Size of one file, or `undefined` when it does not exist. */
  sizeOf(path: string): number | undefined {
    const row = this.#sql
      .exec<{ total: number | null }>("SELECT SUM(length(data)) AS total FROM files WHERE path = ?", path)
      .one();
    return row.total ?? undefined;
  }

  /** Whether the workspace holds nothing (no file, no directory). */
  isEmpty(): boolean {
    return (
      this.#sql.exec("SELECT 1 FROM files LIMIT 1").toArray().length === 0 &&
      this.#sql.exec("SELECT 1 FROM entries WHERE directory = 1 LIMIT 1").toArray().length === 0
    );
  }

  /** Every file and directory with its size and time (metadata only, no file bytes). */
  index(createdAt: number): WorkspaceIndex {
    const stored: [string, StoredEntry][] = [];
    const files = this.#sql
      .exec<{ path: string; size: number; modified_at: number | null }>(
        "SELECT files.path AS path, SUM(length(files.data)) AS size, entries.modified_at AS modified_at FROM files LEFT JOIN entries ON entries.path = files.path GROUP BY files.path",
      )
      .toArray();
    for (const row of files) {
      stored.push([row.path, { type: "file", size: row.size, modifiedAt: row.modified_at ?? createdAt }]);
    }
    const directories = this.#sql
      .exec<{ path: string; modified_at: number }>(
        "SELECT path, modified_at FROM entries WHERE directory = 1",
      )
      .toArray();
    for (const row of directories) {
      stored.push([row.path, { type: "directory", size: 0, modifiedAt: row.modified_at }]);
    }
    return new WorkspaceIndex(stored, createdAt);
  }

  /** One file's bytes, or `undefined` when it does not exist. */
  read(path: string): Uint8Array | undefined {
    const rows = this.#sql
      .exec<{ data: ArrayBuffer }>("SELECT data FROM files WHERE path = ? ORDER BY chunk", path)
      .toArray();
    if (rows.length === 0) return undefined;
    const size = rows.reduce((sum, row) => sum + row.data.byteLength, 0);
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const row of rows) {
      bytes.set(new Uint8Array(row.data), offset);
      offset += row.data.byteLength;
    }
    return bytes;
  }

  /** Writes (or replaces) one file, modified at `now`. */
  write(path: string, bytes: Uint8Array, now: number): void {
    this.#sql.exec("DELETE FROM files WHERE path = ?", path);
    // An empty file still needs a row to exist.
    const chunks = Math.max(1, Math.ceil(bytes.byteLength / chunkBytes));
    for (let chunk = 0; chunk < chunks; chunk += 1) {
      const part = bytes.subarray(chunk * chunkBytes, (chunk + 1) * chunkBytes);
      this.#sql.exec("INSERT INTO files (path, chunk, data) VALUES (?, ?, ?)", path, chunk, part);
    }
    this.#sql.exec(
      "INSERT OR REPLACE INTO entries (path, directory, modified_at) VALUES (?, 0, ?)",
      path,
      now,
    );
  }

  /** Applies a file call's changes (see workspace-entries.ts); new directories are modified at `now`. */
  apply(changes: EntryChanges, now: number): void {
    for (const path of changes.deleteFiles) this.#deleteFile(path);
    for (const path of changes.deleteDirectories) {
      this.#sql.exec("DELETE FROM entries WHERE path = ? AND directory = 1", path);
    }
    for (const move of changes.moves) {
      if (move.type === "file")
        this.#sql.exec("UPDATE files SET path = ? WHERE path = ?", move.to, move.from);
      this.#sql.exec("UPDATE entries SET path = ? WHERE path = ?", move.to, move.from);
    }
    for (const path of changes.addDirectories) this.#addDirectory(path, now);
  }

  /** Every file, path -> bytes (a Map: `__proto__` and `constructor` are file names like any other). */
  readAll(): Map<string, Uint8Array> {
    const paths = this.#sql.exec<{ path: string }>("SELECT DISTINCT path FROM files").toArray();
    const files = new Map<string, Uint8Array>();
    for (const { path } of paths) {
      const bytes = this.read(path);
      if (bytes !== undefined) files.set(path, bytes);
    }
    return files;
  }

  /** Every recorded directory. */
  directories(): string[] {
    return this.#sql
      .exec<{ path: string }>("SELECT path FROM entries WHERE directory = 1 ORDER BY path")
      .toArray()
      .map((row) => row.path);
  }

  /**
   * Makes the stored workspace equal what a run left (`files`, `directories`), given what was
   * stored before it (`previous`, `previousDirectories`): only what changed is written and only
   * what went away is deleted, so a call made while the run went on keeps its effect unless the
   * run itself changed that path. Changed files are modified at `now`.
   */
  replaceAll(
    files: ReadonlyMap<string, Uint8Array>,
    previous: ReadonlyMap<string, Uint8Array>,
    directories: readonly string[],
    previousDirectories: readonly string[],
    now: number,
  ): void {
    for (const path of previous.keys()) {
      if (!files.has(path)) this.#deleteFile(path);
    }
    for (const [path, bytes] of files) {
      const before = previous.get(path);
      if (before === undefined || !sameBytes(before, bytes)) this.write(path, bytes, now);
    }
    const after = new Set(directories);
    for (const path of previousDirectories) {
      if (!after.has(path)) this.#sql.exec("DELETE FROM entries WHERE path = ? AND directory = 1", path);
    }
    const before = new Set(previousDirectories);
    for (const path of directories) if (!before.has(path)) this.#addDirectory(path, now);
    // A file now stands where a directory was recorded (changed while the run went on): the file wins.
    this.#sql.exec("DELETE FROM entries WHERE directory = 1 AND path IN (SELECT DISTINCT path FROM files)");
  }

  #deleteFile(path: string): void {
    this.#sql.exec("DELETE FROM files WHERE path = ?", path);
    this.#sql.exec("DELETE FROM entries WHERE path = ? AND directory = 0", path);
  }

  #addDirectory(path: string, now: number): void {
    this.#sql.exec(
      "INSERT OR IGNORE INTO entries (path, directory, modified_at) VALUES (?, 1, ?)",
      path,
      now,
    );
  }
}

function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.byteLength !== right.byteLength) return false;
  for (let index = 0; index < left.byteLength; index += 1) if (left[index] !== right[index]) return false;
  return true;
}
