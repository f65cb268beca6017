/**
 * The daemon's memory of the request ids the gateway delivered, so that an id delivered twice
 * (a gateway retrying after a reconnect) is executed once: a duplicate of a running request is
 * attached to it, a duplicate of a finished one gets the recorded answer again.
 */

/** Where a request's answer frames go: the link that (last) delivered it, while it is up. */
export type FrameSink = (frame: string) => void;

/** One delivered request. */
export interface LedgerEntry {
  readonly id: string;
  readonly controller: AbortController;
  /** Undefined while the request runs. */
  finished: boolean;
  sink: FrameSink | undefined;
  frames: string[];
  recordedBytes: number;
  /** The answer grew past what is retained: a later duplicate gets an error instead. */
  overflowed: boolean;
  orphanTimer?: NodeJS.Timeout;
  finishedAt?: number;
}

/** Settings of {@link TunnelRequestLedger}. */
export interface TunnelRequestLedgerSettings {
  /** Finished requests remembered (oldest forgotten first). Default 10,000. */
  maxEntries?: number;
  /** Answer bytes retained per request for replay. Default 1 MiB. */
  maxRecordedBytes?: number;
}

/** The delivered requests, running and recently finished. */
export class TunnelRequestLedger {
  readonly #entries = new Map<string, LedgerEntry>();
  readonly #maxEntries: number;
  readonly #maxRecordedBytes: number;

  constructor(settings: TunnelRequestLedgerSettings = {}) {
    this.#maxEntries = settings.maxEntries ?? 10_000;
    this.#maxRecordedBytes = settings.maxRecordedBytes ?? 1024 * 1024;
  }

  /** Requests still running. */
  running(): LedgerEntry[] {
    return [...this.#entries.values()].filter((entry) => !entry.finished);
  }

  /**
   * Records a delivery. A new id returns `{ entry, duplicate: false }` (run it); a known id is
   * re-attached to `sink`, its recorded frames replayed, and `duplicate: true` returned.
   */
  deliver(id: string, sink: FrameSink): { entry: LedgerEntry; duplicate: boolean } {
    const known = this.#entries.get(id);
    if (known !== undefined) {
      clearTimeout(known.orphanTimer);
      known.sink = sink;
      if (known.overflowed) {
        sink(
          JSON.stringify({
            type: "error",
            id,
            code: "duplicate_request",
            message: "this request id was already executed and its answer is no longer held",
          }),
        );
      } else {
        for (const frame of known.frames) sink(frame);
      }
      return { entry: known, duplicate: true };
    }
    const entry: LedgerEntry = {
      id,
      controller: new AbortController(),
      finished: false,
      sink,
      frames: [],
      recordedBytes: 0,
      overflowed: false,
    };
    this.#entries.set(id, entry);
    this.#forgetOldest();
    return { entry, duplicate: false };
  }

  /** Sends a frame of `entry`'s answer to its current sink and records it for replay. */
  emit(entry: LedgerEntry, frame: string): void {
    if (!entry.overflowed) {
      entry.recordedBytes += frame.length;
      if (entry.recordedBytes > this.#maxRecordedBytes) {
        entry.overflowed = true;
        entry.frames = [];
      } else {
        entry.frames.push(frame);
      }
    }
    entry.sink?.(frame);
  }

  /** Marks `entry` finished. */
  finish(entry: LedgerEntry): void {
    entry.finished = true;
    entry.finishedAt = Date.now();
    clearTimeout(entry.orphanTimer);
  }

  /** The link `sink` went down: its running requests lose their sink and are returned. */
  detach(sink: FrameSink): LedgerEntry[] {
    const orphaned: LedgerEntry[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.sink !== sink) continue;
      entry.sink = undefined;
      if (!entry.finished) orphaned.push(entry);
    }
    return orphaned;
  }

  #forgetOldest(): void {
    if (this.#entries.size <= this.#maxEntries) return;
    for (const [id, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries) break;
      if (entry.finished) this.#entries.delete(id);
    }
  }
}
