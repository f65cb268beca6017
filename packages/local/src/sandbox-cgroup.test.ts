import { type ChildProcessByStdio, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as delay } from "node:timers/promises";
import { SandportError } from "@sandport/core";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  type CgroupHostView,
  type CgroupSupport,
  createSandboxCgroup,
  detectCgroupSupport,
  openSandboxCgroup,
  probeCgroupSupport,
  reapSandboxCgroups,
  type SandboxCgroup,
  type SandboxCgroupLimits,
} from "./sandbox-cgroup.ts";
import { newVendorId } from "./sandbox-store.ts";

const mebibyte = 1024 * 1024;
const detectionStarted = performance.now();
const support = detectCgroupSupport();
const detectionMs = performance.now() - detectionStarted;
const hostReady = process.getuid?.() === 0 && support.version !== undefined;
const needsHost = "(needs root and usable cgroups on this host)";

async function codeOf(action: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await action();
    return undefined;
  } catch (error) {
    return SandportError.isInstance(error) ? error.code : `non-sandport error: ${String(error)}`;
  }
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** A shell that waits for a line on stdin before running `script`, so it can join a group first. */
interface GatedProcess {
  pid: number;
  stdin: Writable;
  release(): void;
  exited: Promise<Exit>;
}

const running = new Set<ChildProcessByStdio<Writable, null, Readable>>();
const groups = new Set<SandboxCgroup>();

function startGated(script: string, deadlineMs = 20_000): GatedProcess {
  const child = spawn("/bin/sh", ["-c", `read -r gate || exit 99\n${script}`], {
    stdio: ["pipe", "ignore", "pipe"],
  });
  running.add(child);
  // Every process has its own deadline; the stderr pipe is dropped too so "close" cannot hang.
  const timer = setTimeout(() => {
    child.kill("SIGKILL");
    child.stderr.destroy();
  }, deadlineMs);
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  // Writing to a process the kernel killed gives EPIPE; the exit status is what the tests look at.
  child.stdin.on("error", () => {});
  const exited = new Promise<Exit>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, signal, stderr });
    });
  });
  if (child.pid === undefined) throw new Error("spawning /bin/sh failed");
  return { pid: child.pid, stdin: child.stdin, release: () => child.stdin.write("go\n"), exited };
}

async function createGroup(limits: SandboxCgroupLimits, sandboxId = newVendorId()): Promise<SandboxCgroup> {
  const group = await createSandboxCgroup(support, sandboxId, limits);
  groups.add(group);
  return group;
}

function membersOf(group: SandboxCgroup): number[] {
  const file = group.procsFiles[0] as string;
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map(Number);
}

async function waitForMembers(group: SandboxCgroup, count: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (membersOf(group).length < count) {
    if (Date.now() > deadline) throw new Error(`group never reached ${count} processes`);
    await delay(10);
  }
}

/** Whether `pid` is dead (gone, or a zombie nobody reaped yet). */
function isDead(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** Runs `tail` in `group` and feeds it 100 MiB without a newline, which it keeps in memory. */
async function runMemoryHog(group: SandboxCgroup): Promise<Exit> {
  const hog = startGated("exec tail");
  await group.addProcess(hog.pid);
  hog.release();
  const chunk = Buffer.alloc(mebibyte, "x");
  function* hundredMebibytes() {
    for (let index = 0; index < 100; index += 1) yield chunk;
  }
  await pipeline(Readable.from(hundredMebibytes()), hog.stdin).catch(() => {});
  return hog.exited;
}

function readControl(directory: string, file: string): string {
  return readFileSync(join(directory, file), "utf8").trim();
}

afterEach(async () => {
  for (const child of running) child.kill("SIGKILL");
  for (const group of groups) await group.remove().catch(() => {});
  groups.clear();
});

afterAll(() => {
  // The shared `sandport` parents go too when nothing else uses them (rmdir fails otherwise).
  if (support.version === undefined) return;
  const parents =
    support.version === 2 ? [support.parentDirectory] : Object.values(support.parentDirectories);
  for (const parent of parents) {
    try {
      rmdirSync(parent);
    } catch {
      // still in use, or never created
    }
  }
});

describe("sandbox cgroup detection", () => {
  it("answers fast and caches the answer", () => {
    expect(detectionMs).toBeLessThan(50);
    expect(detectCgroupSupport()).toBe(support);
    if (support.version === undefined) {
      expect(support.reason).not.toBe("");
      expect(support.fix).not.toBe("");
    }
  });

  function fakeHost(options: {
    uid?: number;
    files: Record<string, string>;
    writable?: string[];
  }): CgroupHostView {
    return {
      uid: options.uid ?? 0,
      read: (path) => options.files[path],
      exists: (path) =>
        path in options.files || Object.keys(options.files).some((file) => file.startsWith(`${path}/`)),
      writable: (path) => (options.writable ?? []).some((prefix) => path.startsWith(prefix)),
    };
  }

  const hybridMounts = [
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
  ].join("\n");
  const hybridCgroups = "8:pids:/\n4:memory:/process_api/abc\n1:cpu,cpuacct:/\n0::/\n";

  it("uses each v1 hierarchy at our own cgroup there, as root", () => {
    const host = fakeHost({
      files: { "/proc/self/mountinfo": hybridMounts, "/proc/self/cgroup": hybridCgroups },
      writable: ["/sys/fs/cgroup/"],
    });
    expect(probeCgroupSupport(host)).toEqual({
      version: 1,
      parentDirectories: {
        memory: "/sys/fs/cgroup/memory/process_api/abc/sandport",
        pids: "/sys/fs/cgroup/pids/sandport",
        cpu: "/sys/fs/cgroup/cpu,cpuacct/sandport",
      },
    });
    const asUser = probeCgroupSupport({ ...host, uid: 1000 });
    expect(asUser.version).toBeUndefined();
    expect(asUser).toMatchObject({
      reason: expect.stringMatching(/needs root/),
      fix: expect.stringMatching(/root/),
    });
  });

  it("maps a v1 hierarchy bind-mounted from our own cgroup (container without cgroup namespace)", () => {
    const host = fakeHost({
      files: {
        "/proc/self/mountinfo": [
          "35 31 0:32 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory",
          "39 31 0:36 /docker/abc /sys/fs/cgroup/pids ro,nosuid - cgroup cgroup rw,pids",
        ].join("\n"),
        "/proc/self/cgroup": "8:pids:/docker/abc\n4:memory:/docker/abc\n0::/\n",
      },
      writable: [],
    });
    // Read-only mount: the directories are found but cannot be written.
    expect(probeCgroupSupport(host)).toMatchObject({
      version: undefined,
      reason:
        "cgroup v1: /sys/fs/cgroup/memory is not writable (read-only cgroup mount, or root in a user namespace)",
    });
  });

  it("reports v2 controllers bound to v1 as unavailable, with how to enable them", () => {
    const host = fakeHost({
      files: {
        "/proc/self/mountinfo": "41 31 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw",
        "/proc/self/cgroup": "0::/\n",
        "/sys/fs/cgroup/cgroup.controllers": "hugetlb\n",
        "/proc/cgroups": "#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t0\t1\t0\npids\t0\t1\t1\n",
      },
      writable: ["/sys/fs/cgroup"],
    });
    expect(probeCgroupSupport(host)).toEqual({
      version: undefined,
      reason:
        "cgroup v2: the memory and pids controllers are not available in our cgroup / (/sys/fs/cgroup/cgroup.controllers)",
      fix: "The memory controller is disabled on the kernel command line: boot with cgroup_enable=memory (and without cgroup_disable=memory).",
    });
  });

  const unifiedMount = "41 31 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw,nsdelegate";

  it("uses v2 from the root cgroup as root", () => {
    const host = fakeHost({
      files: {
        "/proc/self/mountinfo": unifiedMount,
        "/proc/self/cgroup": "0::/\n",
        "/sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n",
        "/sys/fs/cgroup/cgroup.subtree_control": "\n",
      },
      writable: ["/sys/fs/cgroup"],
    });
    expect(probeCgroupSupport(host)).toEqual({
      version: 2,
      ownDirectory: "/sys/fs/cgroup",
      parentDirectory: "/sys/fs/cgroup/sandport",
      cpu: true,
    });
    expect(probeCgroupSupport({ ...host, uid: 1000 })).toMatchObject({
      version: undefined,
      reason: "cgroup v2: sandport runs in the root cgroup, which only root may change",
    });
  });

  it("refuses v2 below a cgroup that holds our own process, even when delegated", () => {
    const scope = "/user.slice/user-1000.slice/user@1000.service/app.slice/run-1.scope";
    const directory = `/sys/fs/cgroup${scope}`;
    const host = fakeHost({
      uid: 1000,
      files: {
        "/proc/self/mountinfo": unifiedMount,
        "/proc/self/cgroup": `0::${scope}\n`,
        [`${directory}/cgroup.controllers`]: "cpu memory pids\n",
        [`${directory}/cgroup.type`]: "domain\n",
        [`${directory}/cgroup.procs`]: "4242\n",
      },
      writable: [directory],
    });
    const answer = probeCgroupSupport(host);
    expect(answer.version).toBeUndefined();
    expect(answer).toMatchObject({
      reason: expect.stringMatching(/no internal processes.*delegated to this user does not lift the rule/),
      fix: expect.stringMatching(/sudo sh -c 'echo \$\$ > \/sys\/fs\/cgroup\/cgroup.procs/),
    });
    // A container's own cgroup namespace: "/" there is not the root cgroup.
    const container = fakeHost({
      files: {
        "/proc/self/mountinfo": unifiedMount,
        "/proc/self/cgroup": "0::/\n",
        "/sys/fs/cgroup/cgroup.controllers": "cpu memory pids\n",
        "/sys/fs/cgroup/cgroup.type": "domain\n",
      },
      writable: ["/sys/fs/cgroup"],
    });
    expect(probeCgroupSupport(container)).toMatchObject({
      version: undefined,
      reason: expect.stringMatching(/no internal processes/),
    });
  });

  it("says so when no cgroup filesystem is mounted", () => {
    expect(
      probeCgroupSupport(fakeHost({ files: { "/proc/self/mountinfo": "", "/proc/self/cgroup": "" } })),
    ).toEqual({
      version: undefined,
      reason: "no cgroup filesystem is mounted",
      fix: "Mount cgroup v2 as root: mount -t cgroup2 none /sys/fs/cgroup",
    });
  });
});

describe("sandbox cgroup arguments", () => {
  const scratch = mkdtempSync(join(tmpdir(), "sandport-cgroup-test-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  // Points at a scratch directory, so a validation gap would show up as files there.
  const scratchSupport: CgroupSupport = {
    version: 1,
    parentDirectories: { memory: join(scratch, "memory"), pids: join(scratch, "pids") },
  };
  const limits = { memoryBytes: 64 * mebibyte, processes: 16 };

  it("rejects any sandbox id but 20 lowercase hex characters before touching the filesystem", async () => {
    const invalid = [
      "",
      "..",
      "../../../../etc/passwd",
      "0123456789abcdef012",
      "0123456789abcdef01234",
      "0123456789ABCDEF0123",
      "0123456789abcdef012/",
      "/0123456789abcdef012",
      "0123456789abcdef012\n",
    ];
    for (const sandboxId of invalid) {
      expect(await codeOf(() => createSandboxCgroup(scratchSupport, sandboxId, limits))).toBe(
        "invalid_request",
      );
      expect(await codeOf(async () => openSandboxCgroup(scratchSupport, sandboxId))).toBe("invalid_request");
    }
    expect(readdirSync(scratch)).toEqual([]);
  });

  it("rejects limits that are not positive numbers, and hosts without cgroups", async () => {
    const sandboxId = newVendorId();
    const invalidLimits = [
      { memoryBytes: 0, processes: 16 },
      { memoryBytes: 1.5, processes: 16 },
      { memoryBytes: Number.NaN, processes: 16 },
      { memoryBytes: mebibyte, processes: 0 },
      { memoryBytes: mebibyte, processes: -1 },
      { memoryBytes: mebibyte, processes: 16, cpu: 0 },
      { memoryBytes: mebibyte, processes: 16, cpu: Number.POSITIVE_INFINITY },
    ];
    for (const invalid of invalidLimits)
      expect(await codeOf(() => createSandboxCgroup(scratchSupport, sandboxId, invalid))).toBe(
        "invalid_request",
      );
    // No cpu hierarchy in the scratch support: a cpu limit cannot be honoured.
    expect(await codeOf(() => createSandboxCgroup(scratchSupport, sandboxId, { ...limits, cpu: 1 }))).toBe(
      "unsupported_capability",
    );
    const none: CgroupSupport = { version: undefined, reason: "test", fix: "test" };
    expect(await codeOf(() => createSandboxCgroup(none, sandboxId, limits))).toBe("provider_unavailable");
    expect(await codeOf(() => reapSandboxCgroups(none, () => false))).toBe("provider_unavailable");
    expect(readdirSync(scratch)).toEqual([]);
  });
});

describe("sandbox cgroup on this host", { timeout: 30_000 }, () => {
  it.skipIf(!hostReady)(`writes the limits into the group's control files ${needsHost}`, async () => {
    const group = await createGroup({ memoryBytes: 64 * mebibyte, processes: 12, cpu: 0.5 });
    for (const directory of group.directories) expect(existsSync(directory)).toBe(true);
    expect(group.procsFiles).toEqual(group.directories.map((directory) => join(directory, "cgroup.procs")));
    if (support.version === 2) {
      const [directory] = group.directories as [string];
      expect(readControl(directory, "memory.max")).toBe(String(64 * mebibyte));
      expect(readControl(directory, "pids.max")).toBe("12");
      expect(readControl(directory, "cpu.max")).toBe("50000 100000");
    } else if (support.version === 1) {
      const [memory, pids, cpu] = group.directories as [string, string, string];
      expect(dirname(memory)).toBe(support.parentDirectories.memory);
      expect(readControl(memory, "memory.limit_in_bytes")).toBe(String(64 * mebibyte));
      if (existsSync(join(memory, "memory.memsw.limit_in_bytes")))
        expect(readControl(memory, "memory.memsw.limit_in_bytes")).toBe(String(64 * mebibyte));
      expect(readControl(pids, "pids.max")).toBe("12");
      expect(readControl(cpu, "cpu.cfs_period_us")).toBe("100000");
      expect(readControl(cpu, "cpu.cfs_quota_us")).toBe("50000");
    }
    // The same id twice is refused rather than sharing (or resetting) a group.
    expect(
      await codeOf(() =>
        createSandboxCgroup(support, group.sandboxId, { memoryBytes: mebibyte, processes: 1 }),
      ),
    ).toBe("sandbox_failed");
  });

  it.skipIf(!hostReady)(
    `OOM-kills a process holding 100 MiB in a 32 MiB group, while a 512 MiB group lets it finish ${needsHost}`,
    async () => {
      const small = await createGroup({ memoryBytes: 32 * mebibyte, processes: 8 });
      const large = await createGroup({ memoryBytes: 512 * mebibyte, processes: 8 });
      const killed = await runMemoryHog(small);
      expect(killed.signal).toBe("SIGKILL");
      expect(await small.memoryPeakBytes()).toBeLessThanOrEqual(32 * mebibyte);
      const finished = await runMemoryHog(large);
      expect(finished).toMatchObject({ code: 0, signal: null });
      expect(await large.memoryPeakBytes()).toBeGreaterThanOrEqual(100 * mebibyte);
    },
  );

  it.skipIf(!hostReady)(`refuses forks beyond the process limit ${needsHost}`, async () => {
    const group = await createGroup({ memoryBytes: 256 * mebibyte, processes: 8 });
    const forker = startGated("for i in $(seq 20); do sleep 30 </dev/null >/dev/null 2>&1 & done; wait");
    await group.addProcess(forker.pid);
    forker.release();
    const exit = await forker.exited;
    expect(exit.code).not.toBe(0);
    expect(exit.stderr).toMatch(/fork/i);
    const members = membersOf(group);
    expect(members.length).toBeGreaterThan(0);
    expect(members.length).toBeLessThanOrEqual(8);
    await group.remove();
    for (const pid of members) expect(isDead(pid)).toBe(true);
  });

  it.skipIf(!hostReady)(
    `remove() kills what still runs and deletes the directories, idempotently ${needsHost}`,
    async () => {
      const group = await createGroup({ memoryBytes: 64 * mebibyte, processes: 16 });
      const sleeper = startGated(
        "sleep 30 </dev/null >/dev/null 2>&1 & sleep 30 </dev/null >/dev/null 2>&1 & wait",
      );
      await group.addProcess(sleeper.pid);
      sleeper.release();
      await waitForMembers(group, 3);
      const members = membersOf(group);
      await group.remove();
      expect((await sleeper.exited).signal).toBe("SIGKILL");
      for (const pid of members) expect(isDead(pid)).toBe(true);
      for (const directory of group.directories) expect(existsSync(directory)).toBe(false);
      await group.remove();
      await openSandboxCgroup(support, group.sandboxId).remove();
      expect(await group.memoryPeakBytes()).toBeUndefined();
      expect(await codeOf(() => group.addProcess(sleeper.pid))).toBe("sandbox_failed");
    },
  );

  it.skipIf(!hostReady)(
    `reaps the leftover group of a sandbox that no longer exists ${needsHost}`,
    async () => {
      const leftover = await createGroup({ memoryBytes: 64 * mebibyte, processes: 16 });
      const live = await createGroup({ memoryBytes: 64 * mebibyte, processes: 16 });
      const orphan = startGated("sleep 30");
      await leftover.addProcess(orphan.pid);
      orphan.release();
      // Other groups under the same parent (anyone else's) count as live: only ours is reaped.
      const reaped = await reapSandboxCgroups(support, (sandboxId) => sandboxId !== leftover.sandboxId);
      expect(reaped).toBe(1);
      expect((await orphan.exited).signal).toBe("SIGKILL");
      for (const directory of leftover.directories) expect(existsSync(directory)).toBe(false);
      for (const directory of live.directories) expect(existsSync(directory)).toBe(true);
    },
  );
});
