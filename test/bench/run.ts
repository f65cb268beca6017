/**
 * `npm run bench`: measures the local backend and core against baselines taken in the same run,
 * and prints ratios. Targets from the foundation issue are reported, never asserted.
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
import { measure, milliseconds, percentile } from "./statistics.ts";

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

const rows: { name: string; value: string; target?: string; met?: boolean }[] = [];
const report = await detectIsolation();
const stateDirectory = mkdtempSync(join(tmpdir(), "sandport-bench-"));

for (const tool of report.tools.filter((candidate) => candidate.usable)) {
  const provider = createLocalProvider({ isolation: tool.name, stateDirectory });
  const sandbox = await provider.create({});
  const execDurations = await measure(200, () => sandbox.exec(["/bin/true"]));

  // Baseline: the same isolation tool with the exact same flags, spawned directly.
  const vendorId = sandbox.id.split(":")[1] as string;
  const paths = sandboxPaths(stateDirectory, vendorId);
  const tools = launchToolsFor(tool.name);
  const runAsUid = process.getuid?.() === 0 ? 65534 : undefined;
  if (tools === undefined) throw new Error(`${tool.name} tools missing`);
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
  rows.push(
    { name: `${tool.name}: exec /bin/true p50`, value: milliseconds(execP50) },
    { name: `${tool.name}: exec /bin/true p95`, value: milliseconds(percentile(execDurations, 95)) },
    { name: `${tool.name}: same tool and flags, direct spawn p50`, value: milliseconds(directP50) },
    {
      name: `${tool.name}: ratio exec / direct`,
      value: (execP50 / directP50).toFixed(2),
      target: "<= 1.3",
      met: execP50 / directP50 <= 1.3,
    },
    {
      name: `${tool.name}: ratio exec / plain spawn of /bin/true`,
      value: (execP50 / percentile(plainDurations, 50)).toFixed(2),
    },
  );

  const cycleDurations = await measure(50, async () => {
    const cycle = await provider.create({});
    await cycle.exec(["/bin/true"]);
    await cycle.destroy();
  });
  const cycleP50 = percentile(cycleDurations, 50);
  rows.push({
    name: `${tool.name}: create -> exec -> destroy p50`,
    value: milliseconds(cycleP50),
    target: "<= 40 ms",
    met: cycleP50 <= 40,
  });
}

// Core: validation + capability check per request, measured in batches to beat timer resolution.
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
rows.push({
  name: "core: validate + capability check p50 per request",
  value: milliseconds(perRequest),
  target: "<= 20 µs",
  met: perRequest <= 0.02,
});

rmSync(stateDirectory, { recursive: true, force: true });
const width = Math.max(...rows.map((row) => row.name.length));
console.log(
  `sandport bench — node ${process.version}, ${process.arch}, isolation selected: ${report.selected}`,
);
for (const row of rows) {
  const verdict = row.target === undefined ? "" : `  target ${row.target}: ${row.met ? "met" : "MISSED"}`;
  console.log(`${row.name.padEnd(width)}  ${row.value.padStart(10)}${verdict}`);
}
