/** Reads processes from /proc (Linux): which ones this process started, their memory and CPU time. */
import { readdirSync, readFileSync } from "node:fs";

interface ProcessEntry {
  pid: number;
  parentPid: number;
  name: string;
  /** User + system CPU time so far, ms. */
  cpuMs: number;
}

/** /proc reports CPU time in USER_HZ ticks, 100 per second on every Linux architecture in use. */
const millisecondsPerTick = 10;

/** Parses /proc/<pid>/stat; `undefined` when the process is gone. */
function readEntry(pid: number): ProcessEntry | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The name is in parentheses and may itself contain spaces or ")": split at the last one.
  const nameEnd = stat.lastIndexOf(")");
  const name = stat.slice(stat.indexOf("(") + 1, nameEnd);
  // Fields after the name, from field 3 (state): parent pid is field 4, utime 14, stime 15.
  const fields = stat.slice(nameEnd + 2).split(" ");
  const cpuTicks = Number(fields[11]) + Number(fields[12]);
  return { pid, parentPid: Number(fields[1]), name, cpuMs: cpuTicks * millisecondsPerTick };
}

/**
 * The processes named `name` that descend from this process. Other workerd processes on the
 * machine (another test run, say) are not ours to count.
 */
function descendants(name: string): ProcessEntry[] {
  const entries = new Map<number, ProcessEntry>();
  for (const directory of readdirSync("/proc")) {
    if (!/^\d+$/.test(directory)) continue;
    const entry = readEntry(Number(directory));
    if (entry !== undefined) entries.set(entry.pid, entry);
  }
  const descends = (entry: ProcessEntry): boolean => {
    const seen = new Set<number>();
    for (let current = entry; !seen.has(current.pid); ) {
      seen.add(current.pid);
      if (current.parentPid === process.pid) return true;
      const parent = entries.get(current.parentPid);
      if (parent === undefined) return false;
      current = parent;
    }
    return false;
  };
  return [...entries.values()].filter((entry) => entry.name === name && descends(entry));
}

/** Resident memory of `pid` in bytes (VmRSS); 0 when the process is gone. */
function residentBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

/** This process's workerd descendants at one moment. */
export interface WorkerdUsage {
  processes: number;
  /** Summed resident memory, bytes. */
  residentBytes: number;
  /** CPU time each process has used so far, ms (10 ms resolution), by pid. */
  cpuMsByPid: ReadonlyMap<number, number>;
}

/** How many workerd processes this process started are running, and what they use. */
export function workerdUsage(): WorkerdUsage {
  const workerds = descendants("workerd");
  return {
    processes: workerds.length,
    residentBytes: workerds.reduce((total, entry) => total + residentBytes(entry.pid), 0),
    cpuMsByPid: new Map(workerds.map((entry) => [entry.pid, entry.cpuMs])),
  };
}

/**
 * CPU time the workerd processes used between two snapshots, ms. A process that started in
 * between counts whole; one that exited in between is lost (its last figures are gone with it).
 */
export function workerdCpuMsBetween(before: WorkerdUsage, after: WorkerdUsage): number {
  let total = 0;
  for (const [pid, cpuMs] of after.cpuMsByPid) total += cpuMs - (before.cpuMsByPid.get(pid) ?? 0);
  return total;
}
