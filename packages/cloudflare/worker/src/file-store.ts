/**
 * A sandbox's files in its Durable Object's SQLite storage. Rows are capped at 2 MB there, so
 * each file is stored in 1 MiB chunks.
 */

const chunkBytes = 1024 * 1024;

/** File storage of one sandbox. */
export class FileStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#sql.exec(
      "CREATE TABLE IF NOT EXISTS files (path TEXT NOT NULL, chunk INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (path, chunk))",
    );
  }

  /** Total bytes stored. */
  totalBytes(): number {
    const row = this.#sql
      .exec<{ total: number | null }>("SELECT SUM(length(data)) AS total FROM files")
      .one();
    return row.total ?? 0;
  }

  /** Size of one file, or 0 when it does not exist. */
  sizeOf(path: string): number {
    const row = this.#sql
      .exec<{ total: number | null }>("SELECT SUM(length(data)) AS total FROM files WHERE path = ?", path)
      .one();
    return row.total ?? 0;
  }

  /** Whether any file is stored. */
  isEmpty(): boolean {
    return this.#sql.exec("SELECT 1 FROM files LIMIT 1").toArray().length === 0;
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

  /** Writes (or replaces) one file. */
  write(path: string, bytes: Uint8Array): void {
    this.#sql.exec("DELETE FROM files WHERE path = ?", path);
    // An empty file still needs a row to exist.
    const chunks = Math.max(1, Math.ceil(bytes.byteLength / chunkBytes));
    for (let chunk = 0; chunk < chunks; chunk += 1) {
      const part = bytes.subarray(chunk * chunkBytes, (chunk + 1) * chunkBytes);
      this.#sql.exec("INSERT INTO files (path, chunk, data) VALUES (?, ?, ?)", path, chunk, part);
    }
  }

  /** Every file, path -> bytes. */
  readAll(): Record<string, Uint8Array> {
    const paths = this.#sql.exec<{ path: string }>("SELECT DISTINCT path FROM files").toArray();
    const files: Record<string, Uint8Array> = {};
    for (const { path } of paths) {
      const bytes = this.read(path);
      if (bytes !== undefined) files[path] = bytes;
    }
    return files;
  }

  /**
   * Makes the stored files equal `files`, given `previous` (what was stored before the run): only
   * files that changed are written and only files that went away are deleted.
   */
  replaceAll(files: Record<string, Uint8Array>, previous: Record<string, Uint8Array>): void {
    for (const path of Object.keys(previous)) {
      if (!(path in files)) this.#sql.exec("DELETE FROM files WHERE path = ?", path);
    }
    for (const [path, bytes] of Object.entries(files)) {
      const before = previous[path];
      if (before === undefined || !sameBytes(before, bytes)) this.write(path, bytes);
    }
  }
}

function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.byteLength !== right.byteLength) return false;
  for (let index = 0; index < left.byteLength; index += 1) if (left[index] !== right[index]) return false;
  return true;
}
