/**
 * The workerd process behind an engine, found through /proc (Linux), and the writable memory it
 * holds. V8 keeps the space of large buffers and strings mapped after a run, which counts against
 * the engine's RLIMIT_DATA, so the pool replaces an engine whose leftover has grown too large
 * before it takes another run.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Inodes of the sockets listening on `port` (any local address). */
function listeningInodes(port: number): Set<string> {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const inodes = new Set<string>();
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      // sl local_address rem_address st ... inode; st 0A is LISTEN.
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(suffix) && fields[3] === "0A" && fields[9] !== undefined) inodes.add(fields[9]);
    }
  }
  return inodes;
}

/**
 * The pid of this process's child that listens on `port` (the engine's workerd), or `undefined`
 * where /proc cannot tell (not Linux, or the process is gone).
 */
export function listeningChildPid(port: number): number | undefined {
  if (process.platform !== "linux") return undefined;
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")".
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== process.pid) continue;
      for (const descriptor of readdirSync(`/proc/${entry}/fd`)) {
        const target = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${entry}/fd/${descriptor}`));
        if (target !== null && inodes.has(target[1] as string)) return Number(entry);
      }
    } catch {
      // The process ended while we looked, or is not ours to read.
    }
  }
  return undefined;
}

/** The writable memory `pid` holds (VmData, what RLIMIT_DATA counts), bytes; `undefined` if unknown. */
export function dataBytesOf(pid: number): number | undefined {
  try {
    const match = /^VmData:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}
