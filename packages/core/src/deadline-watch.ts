/**
 * The timeout and abort of one running command, shared by every runner: `kill` is called at
 * `timeoutMs` or when `signal` fires (also when it already has), and the watch remembers which.
 */

/** What a {@link watchDeadline} saw; `stop()` once the command has ended. */
export interface DeadlineWatch {
  readonly timedOut: boolean;
  readonly aborted: boolean;
  stop(): void;
}

/** Calls `kill` at the command's timeout or when the caller's signal fires. */
export function watchDeadline(
  kill: () => void,
  options: { timeoutMs?: number | undefined; signal?: AbortSignal | undefined },
): DeadlineWatch {
  let timedOut = false;
  let aborted = false;
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          kill();
        }, options.timeoutMs);
  const onAbort = () => {
    aborted = true;
    kill();
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  return {
    get timedOut() {
      return timedOut;
    },
    get aborted() {
      return aborted;
    },
    stop() {
      if (timer !== undefined) clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    },
  };
}
