/** The total-size limit on a sandbox's files, applied to what a run left behind. */
import type { IsolateWorkerRunResult } from "../../src/isolate/isolate-worker-protocol.ts";

/** Whether to keep the run's files, and the result to report. */
export interface FilesLimitCheck {
  keep: boolean;
  result: IsolateWorkerRunResult;
}

/**
 * Keeps the run's files when they fit in `limit` bytes. Otherwise the run's file changes are
 * discarded and the run fails (exit code 1) with a message that says so, never silently.
 */
export function enforceFilesLimit(
  result: IsolateWorkerRunResult,
  files: Record<string, Uint8Array>,
  limit: number,
): FilesLimitCheck {
  const total = Object.values(files).reduce((sum, bytes) => sum + bytes.byteLength, 0);
  if (total <= limit) return { keep: true, result };
  const notice = `sandport: the code left ${total} bytes of files, over the sandbox's limit of ${limit} bytes; its file changes were discarded\n`;
  return {
    keep: false,
    result: {
      ...result,
      exitCode: result.exitCode === 0 ? 1 : result.exitCode,
      stderr: `${result.stderr}${notice}`,
      ...(result.output === undefined ? {} : { output: `${result.output}${notice}` }),
    },
  };
}
