/** Finds host processes by a marker in their command line, to prove sandboxed processes are gone. */
import { readdirSync, readFileSync } from "node:fs";

/** Pids of host processes whose command line contains `marker`. */
export function processesWithMarker(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker)) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** Waits until no process carries `marker` (or the deadline passes) and returns what is left. */
export async function waitForNoProcesses(marker: string, deadlineMs = 3000): Promise<number[]> {
  const deadline = Date.now() + deadlineMs;
  let left = processesWithMarker(marker);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = processesWithMarker(marker);
  }
  return left;
}
