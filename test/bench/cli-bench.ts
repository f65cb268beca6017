/**
 * The CLI's cold start, against a bare `node -e 0` measured alternately in the same run: a `local`
 * one-shot, a Python one-shot against `node -e 0` plus a bare `python3 -I -S`, the peak memory of a
 * local one-shot, and (reported only) a run that starts an isolate engine.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { BenchRow } from "./report.ts";
import { measure, measureAlternately, milliseconds, percentile } from "./statistics.ts";

const cli = resolve("packages/cli/bin/sandport.js");

function run(file: string, args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, stdio: "ignore", env: { ...process.env, SANDPORT_CONFIG: "" } });
    child.on("error", reject);
    // A failing command would flatter the figures: insist on success.
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${file} ${args.join(" ")} exited ${code}`)),
    );
  });
}

/** Peak resident memory of one run, MiB, from GNU time when the machine has it. */
function peakMebibytes(args: readonly string[], cwd: string): number | undefined {
  if (!existsSync("/usr/bin/time")) return undefined;
  const result = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, cli, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, SANDPORT_CONFIG: "" },
  });
  const kibibytes = Number(result.stderr.trim().split("\n").at(-1));
  return Number.isFinite(kibibytes) ? kibibytes / 1024 : undefined;
}

/** Measures the CLI's cold starts. */
export async function benchCli(): Promise<BenchRow[]> {
  const directory = mkdtempSync(join(tmpdir(), "sandport-cli-bench-"));
  try {
    const node = () => run(process.execPath, ["-e", "0"], directory);
    const local = () =>
      run(process.execPath, [cli, "exec", "--provider", "local", "--", "/bin/true"], directory);
    const [bare, localRuns] = await measureAlternately(15, node, local, 2);
    const localRatio = percentile(localRuns, 50) / percentile(bare, 50);
    const rows: BenchRow[] = [
      { name: "cli: node -e 0 p50 (baseline)", value: milliseconds(percentile(bare, 50)) },
      {
        name: "cli: sandport exec --provider local -- /bin/true p50",
        value: milliseconds(percentile(localRuns, 50)),
      },
      {
        name: "cli: ratio local one-shot / node -e 0",
        value: localRatio.toFixed(2),
        target: "<= 5",
        met: localRatio <= 5,
      },
    ];
    const python = spawnSync("python3", ["-I", "-S", "-c", "pass"]).status === 0;
    if (python) {
      const pythonRuns = await measure(
        15,
        () =>
          run(
            process.execPath,
            [cli, "run", "--provider", "local", "--lang", "python", "-e", "print(6*7)"],
            directory,
          ),
        2,
      );
      const bareParts = await measure(15, async () => {
        await node();
        await run("python3", ["-I", "-S", "-c", "pass"], directory);
      });
      const pythonRatio = percentile(pythonRuns, 50) / percentile(bareParts, 50);
      rows.push(
        {
          name: "cli: sandport run --lang python -e 'print(6*7)' p50",
          value: milliseconds(percentile(pythonRuns, 50)),
        },
        {
          name: "cli: ratio python one-shot / (node -e 0 + python3 -I -S)",
          value: pythonRatio.toFixed(2),
          target: "<= 3",
          met: pythonRatio <= 3,
        },
      );
    }
    const peak = peakMebibytes(["exec", "--provider", "local", "--", "/bin/true"], directory);
    if (peak !== undefined) {
      rows.push({
        name: "cli: peak memory of a local one-shot",
        value: `${peak.toFixed(1)} MiB`,
        target: "<= 80 MiB",
        met: peak <= 80,
      });
    }
    const isolateRuns = await measure(
      5,
      () => run(process.execPath, [cli, "run", "--lang", "js", "-e", "console.log(1)"], directory),
      1,
    ).catch((error: unknown) => error as Error);
    rows.push({
      name: "cli: sandport run --lang js (starts an isolate engine) p50",
      value: Array.isArray(isolateRuns)
        ? milliseconds(percentile(isolateRuns, 50))
        : `failed: ${isolateRuns.message}`,
    });
    return rows;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
