/**
 * Class 5: memory limits that hold per process only are not a sandbox's limit. Shared anonymous
 * memory escapes RLIMIT_DATA, tmpfs pages belong to no process, and several children each under
 * the limit together exceed it. With `limits.scope: "sandbox"` (a cgroup) the sandbox as a whole
 * must stay under `memoryMb`; a root host with cgroups must offer that scope.
 */
import { existsSync, readFileSync } from "node:fs";
import { createLocalProvider, type LocalSandbox } from "@sandport/local";
import { afterAll, describe, expect, it } from "vitest";
import { removePaths, runningAsRoot, temporaryDirectory, withDeadline } from "./containment-support.ts";
import { canBuildStatic, compileC, installIntoSandbox, memoryHogSource } from "./native-probes.ts";

const memoryMb = 256;
const stateDirectory = temporaryDirectory("sandport-limits");
const buildDirectory = temporaryDirectory("sandport-limits-build");
// /tmp and /dev/shm larger than the memory limit, so only the memory limit can stop filling them.
const provider = createLocalProvider({ stateDirectory, tmpSizeMb: 1024 });

// Created up front, so the scope read below is the one a running sandbox has.
const sandbox: LocalSandbox = await withDeadline(
  provider.create({ resources: { memoryMb } }),
  30_000,
  "create a sandbox with memoryMb 256",
);
const scope = provider.capabilities.limits.scope;
const pythonInside = provider.capabilities.runtimes.includes("python");

/** Whether this host offers a memory cgroup controller (v1 hierarchy or v2 unified). */
function hostHasMemoryCgroup(): boolean {
  if (existsSync("/sys/fs/cgroup/memory/memory.limit_in_bytes")) return true;
  try {
    return readFileSync("/sys/fs/cgroup/cgroup.controllers", "utf8").split(/\s+/).includes("memory");
  } catch {
    return false;
  }
}

afterAll(async () => {
  await sandbox.destroy().catch(() => {});
  removePaths(stateDirectory, buildDirectory);
});

// A hog maps MB MiB (shared anonymous or private), touches every page, prints "held", waits.
const pythonHog = `import mmap, signal, sys
size = int(sys.argv[1]) << 20
flags = mmap.MAP_SHARED if sys.argv[2] == "shared" else mmap.MAP_PRIVATE
memory = mmap.mmap(-1, size, flags=flags)
for offset in range(0, size, 4096):
    memory[offset] = 1
print("held", flush=True)
signal.pause()
`;

// Starts COUNT hogs of MB MiB each, waits until each has printed "held" or died, then reports
// how many still hold their memory and the resident anonymous + shared memory of every process
// in the sandbox, and stops the hogs.
const orchestrator = `
count=$1; mb=$2; mode=$3; shift 3
pids=""
i=0
while [ $i -lt $count ]; do
  "$@" $mb $mode > hog-$i.out 2>&1 &
  pids="$pids $!"
  i=$((i + 1))
done
tries=0
while [ $tries -lt 600 ]; do
  pending=0
  i=0
  for pid in $pids; do
    if kill -0 $pid 2>/dev/null && ! grep -q held hog-$i.out 2>/dev/null; then pending=1; fi
    i=$((i + 1))
  done
  [ $pending = 0 ] && break
  sleep 0.1
  tries=$((tries + 1))
done
held=0
i=0
for pid in $pids; do
  if kill -0 $pid 2>/dev/null && grep -q held hog-$i.out 2>/dev/null; then held=$((held + 1)); fi
  i=$((i + 1))
done
total=$(cat /proc/[0-9]*/status 2>/dev/null | awk '/^(RssAnon|RssShmem):/ { sum += $2 } END { print sum + 0 }')
echo "held=$held total_kb=$total pending=$pending"
kill -KILL $pids 2>/dev/null
wait 2>/dev/null
rm -f hog-*.out
`;

let hogCommand: string[] | undefined;

async function hog(): Promise<string[]> {
  if (hogCommand !== undefined) return hogCommand;
  if (canBuildStatic) {
    await installIntoSandbox(
      sandbox,
      compileC(buildDirectory, "memory-hog", memoryHogSource, "static"),
      "memory-hog",
    );
    hogCommand = ["./memory-hog"];
  } else {
    await sandbox.writeFile("hog.py", pythonHog);
    hogCommand = ["python3", "hog.py"];
  }
  return hogCommand;
}

interface HogReport {
  exitCode: number;
  /** Undefined when the orchestrating shell itself was killed (the group was OOM-killed). */
  held?: number;
  totalKb?: number;
  output: string;
}

async function runHogs(count: number, mb: number, mode: "shared" | "private"): Promise<HogReport> {
  const command = await hog();
  const result = await withDeadline(
    sandbox.exec(["sh", "-c", orchestrator, "orchestrator", String(count), String(mb), mode, ...command], {
      timeoutMs: 120_000,
    }),
    150_000,
    `${count} hogs of ${mb} MiB ${mode}`,
  );
  const match = /held=(\d+) total_kb=(\d+)/.exec(result.stdout);
  return {
    exitCode: result.exitCode,
    ...(match === null ? {} : { held: Number(match[1]), totalKb: Number(match[2]) }),
    output: `exit ${result.exitCode}: ${result.stdout}${result.stderr}`.slice(0, 2000),
  };
}

/** The sandbox held at most `limitMb` at once: or it was OOM-killed as a whole before reporting. */
function expectBounded(report: HogReport, mb: number, limitMb: number): void {
  if (report.held === undefined) {
    expect(report.exitCode, report.output).not.toBe(0);
    return;
  }
  expect(report.held * mb, `MiB held at once: ${report.output}`).toBeLessThanOrEqual(limitMb);
  expect(report.totalKb, `resident KiB in the sandbox: ${report.output}`).toBeLessThanOrEqual(limitMb * 1024);
}

const hogsAvailable = canBuildStatic || pythonInside;

describe("memory limits", () => {
  it.skipIf(!runningAsRoot || !hostHasMemoryCgroup())(
    "(needs root and a memory cgroup controller) declare scope sandbox",
    () => {
      expect(scope).toBe("sandbox");
    },
  );

  it.skipIf(!hogsAvailable)(
    "(needs cc or python) one process cannot hold more than memoryMb of MAP_SHARED memory, whatever the scope",
    async () => {
      expectBounded(await runHogs(1, 600, "shared"), 600, memoryMb);
    },
    180_000,
  );

  it.skipIf(!hogsAvailable || scope !== "sandbox")(
    "(needs cc or python, and scope sandbox) five processes of 100 MiB private memory each do not all hold it",
    async () => {
      expectBounded(await runHogs(5, 100, "private"), 100, memoryMb);
    },
    180_000,
  );

  it.skipIf(!hogsAvailable || scope !== "sandbox")(
    "(needs cc or python, and scope sandbox) five processes of 100 MiB shared memory each do not all hold it",
    async () => {
      expectBounded(await runHogs(5, 100, "shared"), 100, memoryMb);
    },
    180_000,
  );

  it.skipIf(scope !== "sandbox")(
    "(needs scope sandbox) files in /dev/shm and /tmp count against memoryMb",
    async () => {
      for (const directory of ["/dev/shm", "/tmp"]) {
        const result = await withDeadline(
          sandbox.exec({
            shell: `dd if=/dev/zero of=${directory}/fill bs=1M count=600 2>/dev/null; du -m ${directory}/fill | cut -f1; rm -f ${directory}/fill`,
          }),
          120_000,
          `fill ${directory}`,
        );
        const held = Number(result.stdout.trim().split("\n")[0]);
        if (Number.isNaN(held) || result.stdout.trim() === "") {
          // The shell was OOM-killed along with dd: bounded as well.
          expect(result.exitCode, result.stderr).not.toBe(0);
          continue;
        }
        expect(held, `MiB written to ${directory}`).toBeLessThanOrEqual(memoryMb);
      }
    },
    300_000,
  );

  it("the sandbox still runs commands after the attempts", async () => {
    const result = await withDeadline(sandbox.exec(["echo", "alive"]), 30_000, "echo");
    expect(result).toMatchObject({ exitCode: 0, stdout: "alive\n" });
  }, 60_000);
});
