/** The "creating sandbox… 1.2s" line shown while a sandbox starts, on a terminal only. */
import type { OutputStream } from "./cli-environment.ts";

/** A progress indicator that can be stopped; stopping twice is harmless. */
export interface Progress {
  /** Clears the indicator from the terminal. */
  stop(): void;
}

const noProgress: Progress = { stop() {} };

// Often enough that the elapsed time reads as live, rarely enough to cost nothing.
const updateIntervalMs = 100;

/**
 * Starts a spinner on `stream` whose text is `label` plus the elapsed seconds, when `stream` is a
 * terminal and `enabled`; otherwise does nothing, so pipes and logs never receive control codes.
 */
export async function startCreationProgress(
  stream: OutputStream,
  label: string,
  enabled: boolean,
): Promise<Progress> {
  if (!enabled || stream.isTTY !== true) return noProgress;
  // Loaded for a terminal only: pipes, scripts and benchmarks never pay for it (or for node:tty).
  const { default: yoctoSpinner } = await import("yocto-spinner");
  const startedAt = performance.now();
  const textNow = () => `${label} ${((performance.now() - startedAt) / 1000).toFixed(1)}s`;
  // The CLI handles Ctrl-C itself (to destroy the sandbox); the spinner must not exit the process.
  const spinner = yoctoSpinner({ text: textNow(), stream, handleSignals: false }).start();
  const timer = setInterval(() => {
    spinner.text = textNow();
  }, updateIntervalMs);
  timer.unref();
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      spinner.stop();
    },
  };
}
