/**
 * The local backend and core: exec through each usable isolation tool against the same tool
 * spawned directly with the same flags, and request validation per request.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertRequestSupported, parseCreateSandboxRequest } from "@sandport/core";
import { createLocalProvider, detectIsolation } from "@sandport/local";
import { buildLaunch } from "../../packages/local/src/command-launch.ts";
import { launchToolsFor } from "../../packages/local/src/isolation-detect.ts";
import { prepareNodeBinary } from "../../packages/local/src/local-environment.ts";
import { ensureRootSkeleton } from "../../packages/local/src/root-skeleton.ts";
import { sandboxPaths } from "../../packages/local/src/sandbox-store.ts";
import type { BenchRow } from "./report.ts";
import { measure, milliseconds, percentile } from "./statistics.ts";

/** What {@link benchLocal} found. */
export interface LocalBenchResult {
  /** The isolation tool the local provider picks by default, for the report's header. */
  isolationSelected: string | undefined;
  rows: BenchRow[];
}

function runToEnd(
  file: string,
  args: string[],
  env: Record<string, string>,
  readyPipe: boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ["pipe", "pipe", "pipe", readyPipe ? "pipe" : "ignore"] });
    child.stdin?.end();
    child.stdout?.resume();
    child.stderr?.resume();
    (child.stdio[3] as NodeJS.ReadableStream | null)?.resume();
    child.on("error", reject);
    // A failing launch would be a flattering baseline: insist on success.
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${file} exited with ${code}`))));
  });
}

/** Measures every usable isolation tool of the local provider, then core's request validation. */
export async function benchLocal(): Promise<LocalBenchResult> {
  const rows: BenchRow[] = [];
  const report = await detectIsolation();
  const stateDirectory = mkdtempSync(join(tmpdir(), "sandport-bench-"));
  try {
    for (const tool of report.tools.filter((candidate) => candidate.usable)) {
      rows.push(...(await benchIsolationTool(tool.name, stateDirectory)));
    }
    rows.push(await benchValidation(stateDirectory));
  } finally {
    rmSync(stateDirectory, { recursive: true, force: true });
  }
  return { isolationSelected: report.selected, rows };
}

async function benchIsolationTool(
  toolName: "bubblewrap" | "unshare",
  stateDirectory: string,
): Promise<BenchRow[]> {
  const provider = createLocalProvider({ isolation: toolName, stateDirectory });
  const sandbox = await provider.create({});
  const execDurations = await measure(200, () => sandbox.exec(["/bin/true"]));

  // Baseline: the same isolation tool with the exact same flags, spawned directly.
  const vendorId = sandbox.id.split(":")[1] as string;
  const paths = sandboxPaths(stateDirectory, vendorId);
  const tools = launchToolsFor(toolName);
  const runAsUid = process.getuid?.() === 0 ? 65534 : undefined;
  if (tools === undefined) throw new Error(`${toolName} tools missing`);
  const launch = buildLaunch({
    tools,
    mounts: {
      skeleton: ensureRootSkeleton(stateDirectory),
      rootMountPoint: paths.rootMountPoint,
      workspace: paths.workspace,
      nodeBinary: prepareNodeBinary(stateDirectory, runAsUid),
      tmpSizeMb: 64,
    },
    limits: { processes: 256, memoryMb: 1024, fileSizeMb: 1024, openFiles: 1024, cpuSeconds: 600 },
    network: false,
    runAsUid,
    cwd: "/workspace",
    fstabPath: paths.fstab,
    command: ["/bin/true"],
  });
  const environment = { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", HOME: "/workspace" };
  const directDurations = await measure(200, () => runToEnd(launch.file, launch.args, environment, true));
  const plainDurations = await measure(200, () => runToEnd("/bin/true", [], environment, false));
  await sandbox.destroy();

  const execP50 = percentile(execDurations, 50);
  const directP50 = percentile(directDurations, 50);
  const rows: BenchRow[] = [
    { name: `${toolName}: exec /bin/true p50`, value: milliseconds(execP50) },
    { name: `${toolName}: exec /bin/true p95`, value: milliseconds(percentile(execDurations, 95)) },
    { name: `${toolName}: same tool and flags, direct spawn p50`, value: milliseconds(directP50) },
    {
      name: `${toolName}: ratio exec / direct`,
      value: (execP50 / directP50).toFixed(2),
      target: "<= 1.3",
      met: execP50 / directP50 <= 1.3,
    },
    {
      name: `${toolName}: ratio exec / plain spawn of /bin/true`,
      value: (execP50 / percentile(plainDurations, 50)).toFixed(2),
    },
  ];

  const cycleDurations = await measure(50, async () => {
    const cycle = await provider.create({});
    await cycle.exec(["/bin/true"]);
    await cycle.destroy();
  });
  const cycleP50 = percentile(cycleDurations, 50);
  rows.push({
    name: `${toolName}: create -> exec -> destroy p50`,
    value: milliseconds(cycleP50),
    target: "<= 40 ms",
    met: cycleP50 <= 40,
  });
  return rows;
}

/** Core: validation + capability check per request, measured in batches to beat timer resolution. */
async function benchValidation(stateDirectory: string): Promise<BenchRow> {
  const capabilities = createLocalProvider({ stateDirectory }).capabilities;
  const request = {
    runtime: "python",
    resources: { cpu: 1, memoryMb: 512 },
    env: { A: "1", B: "2" },
    network: { egress: "none" },
    labels: { team: "bench" },
    ttlMs: 60_000,
  };
  const batch = 1000;
  const validationDurations = await measure(
    200,
    async () => {
      for (let index = 0; index < batch; index++) {
        assertRequestSupported("local", capabilities, parseCreateSandboxRequest(request));
      }
    },
    20,
  );
  const perRequest = percentile(validationDurations, 50) / batch;
  return {
    name: "core: validate + capability check p50 per request",
    value: milliseconds(perRequest),
    target: "<= 20 µs",
    met: perRequest <= 0.02,
  };
}
