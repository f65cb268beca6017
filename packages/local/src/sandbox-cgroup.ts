/**
 * Per-sandbox cgroups on the host: one group per sandbox (`<our own cgroup>/sandport/<sandbox id>`)
 * holding the sandbox's supervisor and everything it starts, so memory, process and cpu limits apply
 * to the sandbox as a whole rather than to each command.
 */
import { accessSync, constants, type Dirent, existsSync, readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import {
  InvalidRequestError,
  ProviderUnavailableError,
  SandboxFailedError,
  type SandportError,
  UnsupportedCapabilityError,
} from "@sandport/core";
import { isLocalVendorId } from "./sandbox-store.ts";

/** Cgroup v2 (unified hierarchy) is usable; sandbox groups are `<parentDirectory>/<sandbox id>`. */
export interface CgroupVersion2Support {
  version: 2;
  /** Our own cgroup's directory, whose `cgroup.subtree_control` must pass memory and pids down. */
  ownDirectory: string;
  /** `<ownDirectory>/sandport`, the parent of every sandbox group. */
  parentDirectory: string;
  /** Whether the cpu controller is available, so cpu limits can be set. */
  cpu: boolean;
}

/** Cgroup v1 (one hierarchy per controller) is usable; one sandbox directory per hierarchy. */
export interface CgroupVersion1Support {
  version: 1;
  /** `<our own cgroup in that hierarchy>/sandport` for each controller (cpu when mounted). */
  parentDirectories: { memory: string; pids: string; cpu?: string };
}

/** No per-sandbox cgroups on this host. */
export interface CgroupUnsupported {
  version: undefined;
  /** What is missing, for `sandport doctor` and error messages. */
  reason: string;
  /** How to enable it, printed by `sandport doctor`. */
  fix: string;
}

/** What this host offers the current process for per-sandbox cgroups. */
export type CgroupSupport = CgroupVersion2Support | CgroupVersion1Support | CgroupUnsupported;

/** Limits of one sandbox as a whole. */
export interface SandboxCgroupLimits {
  /** Memory of all its processes together (swap is not allowed on top). */
  memoryBytes: number;
  /** Number of processes (and threads) alive at once. */
  processes: number;
  /** vCPUs as cpu time per wall time, fractional allowed (0.5 = half a core). */
  cpu?: number;
}

/** One sandbox's cgroup (one directory per hierarchy under v1). */
export interface SandboxCgroup {
  readonly sandboxId: string;
  /** The group's directories: one under v2, one per controller hierarchy under v1. */
  readonly directories: readonly string[];
  /** `cgroup.procs` of each directory: write the supervisor's pid into every one of them. */
  readonly procsFiles: readonly string[];
  /** Moves process `pid` (with all its threads) into the group, in every hierarchy. */
  addProcess(pid: number): Promise<void>;
  /** Highest memory use of the group so far, or undefined when the kernel does not report it. */
  memoryPeakBytes(): Promise<number | undefined>;
  /**
   * Kills every process still in the group and deletes its directories. Idempotent: an already
   * removed group is not an error.
   */
  remove(): Promise<void>;
}

/** A view of the host's files, so the detection logic can be tested on any machine. */
export interface CgroupHostView {
  /** Effective uid of this process. */
  uid: number;
  /** A file's text, or undefined when it cannot be read. */
  read(path: string): string | undefined;
  exists(path: string): boolean;
  writable(path: string): boolean;
}

const cgroupDirectoryName = "sandport";
const cpuPeriodMicroseconds = 100_000;
// The kernel refuses cpu quotas below 1 ms per period.
const minimumCpuQuotaMicroseconds = 1_000;
const killDeadlineMs = 2_000;
const removeDirectoryDeadlineMs = 1_000;
const pollIntervalMs = 10;

const rootFix =
  "Run sandport as root (for example with sudo): cgroup v1 cannot safely hand a hierarchy to an unprivileged user.";

const hostView: CgroupHostView = {
  uid: process.getuid?.() ?? -1,
  read(path) {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  },
  exists: existsSync,
  writable(path) {
    try {
      accessSync(path, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  },
};

let cachedSupport: CgroupSupport | undefined;

/**
 * What this host offers the current process for per-sandbox cgroups. Synchronous and fast (a few
 * small reads of /proc and /sys, no probing writes); the answer is cached for the process lifetime.
 */
export function detectCgroupSupport(): CgroupSupport {
  cachedSupport ??= probeCgroupSupport(hostView);
  return cachedSupport;
}

/** One cgroup filesystem mount from /proc/self/mountinfo. */
interface CgroupMount {
  fileSystem: "cgroup" | "cgroup2";
  /** The cgroup (relative to the hierarchy root or our cgroup namespace) mounted there. */
  root: string;
  mountPoint: string;
  /** Super options; for v1 they name the controllers, e.g. `["rw", "cpu", "cpuacct"]`. */
  options: string[];
}

/** Our own cgroup paths from /proc/self/cgroup. */
interface OwnCgroups {
  /** Path per v1 controller, e.g. `memory` → `/process_api/abc`. */
  version1: Map<string, string>;
  /** Path in the unified hierarchy (the `0::` line). */
  version2: string | undefined;
}

// mountinfo escapes space, tab, newline and backslash as octal.
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

function parseMounts(text: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of text.split("\n")) {
    const [left, right] = line.split(" - ");
    if (left === undefined || right === undefined) continue;
    const fields = left.split(" ");
    const [fileSystem, , superOptions] = right.split(" ");
    if (fileSystem !== "cgroup" && fileSystem !== "cgroup2") continue;
    const root = fields[3];
    const mountPoint = fields[4];
    if (root === undefined || mountPoint === undefined) continue;
    mounts.push({
      fileSystem,
      root: unescapeMountField(root),
      mountPoint: unescapeMountField(mountPoint),
      options: (superOptions ?? "").split(","),
    });
  }
  return mounts;
}

function parseOwnCgroups(text: string): OwnCgroups {
  const own: OwnCgroups = { version1: new Map(), version2: undefined };
  for (const line of text.split("\n")) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (line.slice(0, first) === "0" && controllers === "") own.version2 = path;
    else for (const controller of controllers.split(",")) own.version1.set(controller, path);
  }
  return own;
}

/** The directory of cgroup `path` through `mount`, or undefined when the mount does not show it. */
function directoryThrough(mount: CgroupMount, path: string): string | undefined {
  // Outside our cgroup namespace the kernel writes "/.." paths; such a group is not ours to use.
  if (!path.startsWith("/") || path.split("/").includes("..")) return undefined;
  if (mount.root !== "/" && path !== mount.root && !path.startsWith(`${mount.root}/`)) return undefined;
  const directory = join(mount.mountPoint, mount.root === "/" ? path : path.slice(mount.root.length));
  return directory.length > 1 && directory.endsWith("/") ? directory.slice(0, -1) : directory;
}

function unsupported(reason: string, fix: string): CgroupUnsupported {
  return { version: undefined, reason, fix };
}

/** Whether /proc/cgroups lists `controller` as compiled in and enabled. */
function kernelControllerState(host: CgroupHostView, controller: string): "enabled" | "disabled" | "absent" {
  for (const line of (host.read("/proc/cgroups") ?? "").split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === controller) return fields[3] === "1" ? "enabled" : "disabled";
  }
  return "absent";
}

function missingControllerFix(host: CgroupHostView, controller: string, version: 1 | 2): string {
  const state = kernelControllerState(host, controller);
  if (state === "absent")
    return `The kernel lacks the ${controller} controller: use a kernel built with ${controller === "memory" ? "CONFIG_MEMCG" : "CONFIG_CGROUP_PIDS"}.`;
  if (state === "disabled")
    return `The ${controller} controller is disabled on the kernel command line: boot with cgroup_enable=${controller} (and without cgroup_disable=${controller}).`;
  return version === 1
    ? `Mount its hierarchy as root: mkdir -p /sys/fs/cgroup/${controller} && mount -t cgroup -o ${controller} cgroup /sys/fs/cgroup/${controller}`
    : `Enable it for sandport's cgroup: as root, echo +${controller} > cgroup.subtree_control in each cgroup from /sys/fs/cgroup down to sandport's parent cgroup.`;
}

function probeVersion1(host: CgroupHostView, mounts: CgroupMount[], own: OwnCgroups): CgroupSupport {
  const parentDirectories: Partial<Record<"memory" | "pids" | "cpu", string>> = {};
  for (const controller of ["memory", "pids", "cpu"] as const) {
    const required = controller !== "cpu";
    const mount = mounts.find((entry) => entry.fileSystem === "cgroup" && entry.options.includes(controller));
    if (mount === undefined) {
      if (!required) continue;
      return unsupported(
        `cgroup v1: no ${controller} hierarchy is mounted`,
        missingControllerFix(host, controller, 1),
      );
    }
    const path = own.version1.get(controller);
    const directory = path === undefined ? undefined : directoryThrough(mount, path);
    if (directory === undefined) {
      if (!required) continue;
      return unsupported(
        `cgroup v1: our ${controller} cgroup (${path ?? "missing from /proc/self/cgroup"}) is not visible under ${mount.mountPoint}`,
        "Run sandport on the host, or in a container that sees its own cgroup at the root of each hierarchy.",
      );
    }
    if (host.uid !== 0)
      return unsupported(
        "cgroup v1: creating cgroups needs root and sandport is not running as root",
        rootFix,
      );
    if (!host.writable(directory)) {
      if (!required) continue;
      return unsupported(
        `cgroup v1: ${directory} is not writable (read-only cgroup mount, or root in a user namespace)`,
        "Run sandport as root on the host, or in a container that may manage cgroups (for example docker run --privileged).",
      );
    }
    parentDirectories[controller] = join(directory, cgroupDirectoryName);
  }
  const { memory, pids, cpu } = parentDirectories;
  if (memory === undefined || pids === undefined)
    return unsupported("cgroup v1: memory or pids hierarchy unusable", rootFix);
  return { version: 1, parentDirectories: { memory, pids, ...(cpu === undefined ? {} : { cpu }) } };
}

const version2RootFix =
  "Start sandport as root from the root cgroup, for example: sudo sh -c 'echo $$ > /sys/fs/cgroup/cgroup.procs && exec <command that runs sandport>'. " +
  "Delegation alone (systemd-run --user --scope -p Delegate=yes, or a service with Delegate=yes) is not enough: sandport itself sits in the delegated cgroup, " +
  "and cgroup v2 does not let a non-root cgroup that holds processes pass memory or pids limits to child cgroups. " +
  "Inside a container with its own cgroup namespace the top cgroup is not the root: run sandport on the host or in a VM.";

function probeVersion2(host: CgroupHostView, mount: CgroupMount, own: OwnCgroups): CgroupSupport {
  const path = own.version2;
  const ownDirectory = path === undefined ? undefined : directoryThrough(mount, path);
  if (path === undefined || ownDirectory === undefined)
    return unsupported(
      `cgroup v2: our cgroup (${path ?? "no 0:: line in /proc/self/cgroup"}) is not visible under ${mount.mountPoint}`,
      version2RootFix,
    );
  const available = new Set((host.read(join(ownDirectory, "cgroup.controllers")) ?? "").trim().split(/\s+/));
  const missing = ["memory", "pids"].filter((controller) => !available.has(controller));
  if (missing.length > 0) {
    const controller = missing[0] as string;
    // In hybrid mode (v1 hierarchies plus an empty cgroup2) the controllers are bound to v1.
    return unsupported(
      `cgroup v2: the ${missing.join(" and ")} controller${missing.length > 1 ? "s are" : " is"} not available in our cgroup ${path} (${join(ownDirectory, "cgroup.controllers")})`,
      missingControllerFix(host, controller, 2),
    );
  }
  // Only the real root cgroup lacks cgroup.type; a cgroup namespace's top cgroup has it.
  const isRootCgroup = !host.exists(join(ownDirectory, "cgroup.type"));
  if (!isRootCgroup) {
    const delegated = host.uid !== 0 && host.writable(join(ownDirectory, "cgroup.procs"));
    return unsupported(
      `cgroup v2: our cgroup ${path} holds sandport's own process, and a non-root cgroup with processes cannot enable memory and pids for child cgroups ` +
        `(the "no internal processes" rule), so ${join(path, cgroupDirectoryName)} could not get limits` +
        (delegated ? "; that the cgroup is delegated to this user does not lift the rule" : ""),
      version2RootFix,
    );
  }
  if (host.uid !== 0)
    return unsupported(
      "cgroup v2: sandport runs in the root cgroup, which only root may change",
      version2RootFix,
    );
  const subtreeControl = join(ownDirectory, "cgroup.subtree_control");
  if (!host.writable(ownDirectory) || !host.writable(subtreeControl))
    return unsupported(
      `cgroup v2: ${subtreeControl} is not writable (read-only cgroup mount, or root in a user namespace)`,
      "Run sandport as root on the host, or in a container that may manage cgroups.",
    );
  return {
    version: 2,
    ownDirectory,
    parentDirectory: join(ownDirectory, cgroupDirectoryName),
    cpu: available.has("cpu"),
  };
}

/**
 * The detection logic behind {@link detectCgroupSupport}, over any view of the host's files.
 * @internal exported for tests.
 */
export function probeCgroupSupport(host: CgroupHostView): CgroupSupport {
  const mounts = parseMounts(host.read("/proc/self/mountinfo") ?? "");
  const own = parseOwnCgroups(host.read("/proc/self/cgroup") ?? "");
  // A controller lives on one hierarchy only: if v1 has memory or pids, the cgroup2 mount lacks them.
  const onVersion1 = mounts.some(
    (mount) =>
      mount.fileSystem === "cgroup" && (mount.options.includes("memory") || mount.options.includes("pids")),
  );
  if (onVersion1) return probeVersion1(host, mounts, own);
  const unified =
    mounts.find((mount) => mount.fileSystem === "cgroup2" && mount.mountPoint === "/sys/fs/cgroup") ??
    mounts.find((mount) => mount.fileSystem === "cgroup2");
  if (unified !== undefined) return probeVersion2(host, unified, own);
  return unsupported(
    "no cgroup filesystem is mounted",
    "Mount cgroup v2 as root: mount -t cgroup2 none /sys/fs/cgroup",
  );
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** An error naming the file and errno; missing permission means the host cannot do it at all. */
function fileError(action: string, path: string, error: unknown): SandportError {
  const code = errnoOf(error) ?? (error instanceof Error ? error.message : String(error));
  const message = `sandbox cgroup: ${action} ${path} failed (${code})`;
  if (code === "EACCES" || code === "EPERM" || code === "EROFS")
    return new ProviderUnavailableError(message, { cause: error, isRetryable: false });
  return new SandboxFailedError(message, { cause: error });
}

async function writeControlFile(path: string, value: string): Promise<void> {
  try {
    // r+: never create a plain file where the kernel offers no control file.
    await writeFile(path, value, { flag: "r+" });
  } catch (error) {
    throw fileError(`writing "${value}" to`, path, error);
  }
}

async function makeDirectory(path: string, allowExisting: boolean): Promise<void> {
  try {
    await mkdir(path, { mode: 0o755 });
  } catch (error) {
    if (allowExisting && errnoOf(error) === "EEXIST") return;
    if (errnoOf(error) === "EEXIST")
      throw new SandboxFailedError(`sandbox cgroup: ${path} already exists`, { cause: error });
    throw fileError("creating", path, error);
  }
}

async function readPids(procsFile: string): Promise<number[]> {
  let text: string;
  try {
    text = await readFile(procsFile, "utf8");
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return [];
    throw fileError("reading", procsFile, error);
  }
  // Pid 0 stands for a process outside our pid namespace: kill(0) would hit our own process group.
  return text
    .split("\n")
    .map((line) => Number(line))
    .filter((pid) => Number.isSafeInteger(pid) && pid > 0);
}

async function readNumber(path: string): Promise<number | undefined> {
  try {
    const value = Number((await readFile(path, "utf8")).trim());
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Adds each controller missing from a v2 `cgroup.subtree_control`. */
async function enableControllers(directory: string, controllers: string[]): Promise<void> {
  const file = join(directory, "cgroup.subtree_control");
  let enabled: Set<string>;
  try {
    enabled = new Set((await readFile(file, "utf8")).trim().split(/\s+/));
  } catch (error) {
    throw fileError("reading", file, error);
  }
  const missing = controllers.filter((controller) => !enabled.has(controller));
  if (missing.length > 0)
    await writeControlFile(file, missing.map((controller) => `+${controller}`).join(" "));
}

function validateSandboxId(sandboxId: string): void {
  // The id becomes a path component: only our own 20-hex-char ids, never "..", "/" or the like.
  if (typeof sandboxId !== "string" || !isLocalVendorId(sandboxId))
    throw new InvalidRequestError(`sandbox cgroup: invalid sandbox id ${JSON.stringify(sandboxId)}`);
}

function validateLimits(limits: SandboxCgroupLimits): void {
  if (!Number.isSafeInteger(limits.memoryBytes) || limits.memoryBytes <= 0)
    throw new InvalidRequestError(`sandbox cgroup: memoryBytes must be a positive integer`);
  if (!Number.isSafeInteger(limits.processes) || limits.processes <= 0)
    throw new InvalidRequestError(`sandbox cgroup: processes must be a positive integer`);
  if (limits.cpu !== undefined && !(Number.isFinite(limits.cpu) && limits.cpu > 0))
    throw new InvalidRequestError(`sandbox cgroup: cpu must be a positive number of vCPUs`);
}

function usableSupport(support: CgroupSupport): CgroupVersion1Support | CgroupVersion2Support {
  if (support.version === undefined)
    throw new ProviderUnavailableError(`sandbox cgroup: cgroups are not usable here: ${support.reason}`, {
      isRetryable: false,
    });
  return support;
}

/** The group's directory per controller role (`all` under v2, which has one directory). */
function groupDirectories(
  support: CgroupVersion1Support | CgroupVersion2Support,
  sandboxId: string,
): { memory: string; pids: string; cpu: string | undefined; all: string[] } {
  if (support.version === 2) {
    const directory = join(support.parentDirectory, sandboxId);
    return { memory: directory, pids: directory, cpu: support.cpu ? directory : undefined, all: [directory] };
  }
  const { memory, pids, cpu } = support.parentDirectories;
  const cpuDirectory = cpu === undefined ? undefined : join(cpu, sandboxId);
  const all = [join(memory, sandboxId), join(pids, sandboxId)];
  if (cpuDirectory !== undefined) all.push(cpuDirectory);
  return { memory: join(memory, sandboxId), pids: join(pids, sandboxId), cpu: cpuDirectory, all };
}

async function killAll(directories: readonly string[], deadline: number): Promise<number[]> {
  for (;;) {
    const pids = new Set<number>();
    for (const directory of directories)
      for (const pid of await readPids(join(directory, "cgroup.procs"))) pids.add(pid);
    pids.delete(process.pid);
    if (pids.size === 0 || Date.now() >= deadline) return [...pids];
    // A pid read here could in theory exit and be reused before the kill; the window is microseconds
    // and cgroup.kill (v2) avoids it entirely.
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch (error) {
        if (errnoOf(error) !== "ESRCH")
          throw fileError(`killing process ${pid} of`, directories[0] ?? "", error);
      }
    }
    await delay(pollIntervalMs);
  }
}

async function removeDirectory(directory: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      await rmdir(directory);
      return;
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOENT") return;
      // An exiting process can keep the group busy for a moment after cgroup.procs is empty.
      if (code === "EBUSY" && Date.now() < deadline) {
        await delay(pollIntervalMs);
        continue;
      }
      throw fileError("removing", directory, error);
    }
  }
}

/**
 * A handle on the group of `sandboxId`, whether or not it exists, e.g. to remove the group of a
 * sandbox created before a restart. Creates nothing.
 */
export function openSandboxCgroup(support: CgroupSupport, sandboxId: string): SandboxCgroup {
  validateSandboxId(sandboxId);
  const usable = usableSupport(support);
  const directories = groupDirectories(usable, sandboxId);
  const procsFiles = directories.all.map((directory) => join(directory, "cgroup.procs"));
  let removal: Promise<void> | undefined;

  async function removeGroup(): Promise<void> {
    if (usable.version === 2) {
      const killFile = join(directories.memory, "cgroup.kill");
      // cgroup.kill (Linux 5.14+) kills atomically, even processes forking at that moment. Absent
      // when the kernel is older or the group is already gone; the loop below covers both.
      try {
        await writeFile(killFile, "1", { flag: "r+" });
      } catch (error) {
        if (errnoOf(error) !== "ENOENT") throw fileError('writing "1" to', killFile, error);
      }
    }
    const survivors = await killAll(directories.all, Date.now() + killDeadlineMs);
    if (survivors.length > 0)
      throw new SandboxFailedError(
        `sandbox cgroup: processes ${survivors.join(", ")} of ${directories.all[0]} survived SIGKILL for ${killDeadlineMs} ms`,
      );
    const deadline = Date.now() + removeDirectoryDeadlineMs;
    for (const directory of directories.all) await removeDirectory(directory, deadline);
  }

  return {
    sandboxId,
    directories: directories.all,
    procsFiles,
    async addProcess(pid) {
      if (!Number.isSafeInteger(pid) || pid <= 0)
        throw new InvalidRequestError(`sandbox cgroup: invalid pid ${String(pid)}`);
      for (const procsFile of procsFiles) {
        try {
          await writeFile(procsFile, String(pid), { flag: "r+" });
        } catch (error) {
          if (errnoOf(error) === "ESRCH")
            throw new SandboxFailedError(
              `sandbox cgroup: process ${pid} exited before it joined ${procsFile}`,
              {
                cause: error,
              },
            );
          throw fileError(`adding process ${pid} to`, procsFile, error);
        }
      }
    },
    async memoryPeakBytes() {
      const file = usable.version === 2 ? "memory.peak" : "memory.max_usage_in_bytes";
      return readNumber(join(directories.memory, file));
    },
    remove() {
      // Concurrent calls share one removal; a failed one may be retried.
      removal ??= removeGroup().catch((error: unknown) => {
        removal = undefined;
        throw error;
      });
      return removal;
    },
  };
}

async function writeLimits(
  support: CgroupVersion1Support | CgroupVersion2Support,
  directories: ReturnType<typeof groupDirectories>,
  limits: SandboxCgroupLimits,
): Promise<void> {
  const quota =
    limits.cpu === undefined
      ? undefined
      : String(Math.max(minimumCpuQuotaMicroseconds, Math.round(limits.cpu * cpuPeriodMicroseconds)));
  const memory = String(limits.memoryBytes);
  if (support.version === 2) {
    await writeControlFile(join(directories.memory, "memory.max"), memory);
    const swap = join(directories.memory, "memory.swap.max");
    if (existsSync(swap)) await writeControlFile(swap, "0");
    await writeControlFile(join(directories.pids, "pids.max"), String(limits.processes));
    if (quota !== undefined && directories.cpu !== undefined)
      await writeControlFile(join(directories.cpu, "cpu.max"), `${quota} ${cpuPeriodMicroseconds}`);
    return;
  }
  await writeControlFile(join(directories.memory, "memory.limit_in_bytes"), memory);
  // memsw counts memory plus swap; it may not go below limit_in_bytes, so it is written second.
  const memoryAndSwap = join(directories.memory, "memory.memsw.limit_in_bytes");
  if (existsSync(memoryAndSwap)) await writeControlFile(memoryAndSwap, memory);
  await writeControlFile(join(directories.pids, "pids.max"), String(limits.processes));
  if (quota !== undefined && directories.cpu !== undefined) {
    await writeControlFile(join(directories.cpu, "cpu.cfs_period_us"), String(cpuPeriodMicroseconds));
    await writeControlFile(join(directories.cpu, "cpu.cfs_quota_us"), quota);
  }
}

/**
 * Creates the cgroup of sandbox `sandboxId` with `limits`: `<own cgroup>/sandport/<sandboxId>` (in
 * the memory, pids and cpu hierarchies under v1). Fails if the group already exists. On failure
 * nothing is left behind. The caller then moves the sandbox's supervisor in with `addProcess`.
 */
export async function createSandboxCgroup(
  support: CgroupSupport,
  sandboxId: string,
  limits: SandboxCgroupLimits,
): Promise<SandboxCgroup> {
  validateSandboxId(sandboxId);
  validateLimits(limits);
  const usable = usableSupport(support);
  if (
    limits.cpu !== undefined &&
    (usable.version === 2 ? !usable.cpu : usable.parentDirectories.cpu === undefined)
  )
    throw new UnsupportedCapabilityError(
      "sandbox cgroup: a cpu limit needs the cpu controller, which this host lacks",
    );
  const directories = groupDirectories(usable, sandboxId);
  const controllers = ["memory", "pids", ...(directories.cpu === undefined ? [] : ["cpu"])];
  if (usable.version === 2) {
    // Controllers must be passed down at every level: own → sandport → sandbox group.
    await enableControllers(usable.ownDirectory, controllers);
    await makeDirectory(usable.parentDirectory, true);
    await enableControllers(usable.parentDirectory, controllers);
  } else {
    for (const parent of Object.values(usable.parentDirectories)) await makeDirectory(parent, true);
  }
  const created: string[] = [];
  try {
    for (const directory of directories.all) {
      await makeDirectory(directory, false);
      created.push(directory);
    }
    await writeLimits(usable, directories, limits);
  } catch (error) {
    // Nothing has joined the new directories yet, so they can go right away.
    for (const directory of created) await rmdir(directory).catch(() => {});
    throw error;
  }
  return openSandboxCgroup(usable, sandboxId);
}

/**
 * Removes the groups of sandboxes that no longer exist (a crashed host process leaves them behind),
 * killing what still runs in them. `isLive` must answer for every sandbox that uses this cgroup parent,
 * i.e. every sandport process on the host started from the same cgroup. Returns how many were removed.
 */
export async function reapSandboxCgroups(
  support: CgroupSupport,
  isLive: (sandboxId: string) => boolean | Promise<boolean>,
): Promise<number> {
  const usable = usableSupport(support);
  const parents = usable.version === 2 ? [usable.parentDirectory] : Object.values(usable.parentDirectories);
  const sandboxIds = new Set<string>();
  for (const parent of parents) {
    let entries: Dirent[];
    try {
      entries = await readdir(parent, { withFileTypes: true });
    } catch (error) {
      if (errnoOf(error) === "ENOENT") continue;
      throw fileError("listing", parent, error);
    }
    // Anything not named like one of our ids (controller files, others' groups) is left alone.
    for (const entry of entries)
      if (entry.isDirectory() && isLocalVendorId(entry.name)) sandboxIds.add(entry.name);
  }
  let removed = 0;
  const failures: string[] = [];
  for (const sandboxId of sandboxIds) {
    if (await isLive(sandboxId)) continue;
    try {
      await openSandboxCgroup(usable, sandboxId).remove();
      removed += 1;
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
  }
  if (failures.length > 0)
    throw new SandboxFailedError(
      `sandbox cgroup: reaped ${removed} leftover group(s) but ${failures.length} failed: ${failures.join("; ")}`,
    );
  return removed;
}
