/** Installs a manifest's packages in a fresh sandbox (pip, npm), argv only, and reports the time. */
import { type CallOptions, type Sandbox, SandboxFailedError } from "@sandport/core";
import type { SandboxManifest } from "./sandbox-manifest.ts";

/** What one installer did. */
export interface PackageInstallStep {
  installer: "pip" | "npm";
  packages: string[];
  durationMs: number;
}

/** Options of {@link installManifestPackages}. */
export interface PackageInstallOptions extends CallOptions {
  /** Per installer, ms. Default 300000. */
  timeoutMs?: number;
}

/**
 * Runs `python3 -m pip install` and `npm install` for the manifest's packages. Names were
 * validated by the manifest's schema and travel as argv (never through a shell); `--` ends the
 * options so no name is read as one. A failing install is `sandbox_failed` with its output's tail.
 */
export async function installManifestPackages(
  sandbox: Sandbox,
  manifest: SandboxManifest,
  options: PackageInstallOptions = {},
): Promise<PackageInstallStep[]> {
  const steps: PackageInstallStep[] = [];
  const timeoutMs = options.timeoutMs ?? 300_000;
  const plans: { installer: "pip" | "npm"; packages: string[]; argv: string[] }[] = [];
  const pip = manifest.packages?.pip ?? [];
  const npm = manifest.packages?.npm ?? [];
  if (pip.length > 0) {
    plans.push({
      installer: "pip",
      packages: pip,
      argv: ["python3", "-m", "pip", "install", "--no-input", "--quiet", "--", ...pip],
    });
  }
  if (npm.length > 0) {
    plans.push({
      installer: "npm",
      packages: npm,
      argv: ["npm", "install", "--no-audit", "--no-fund", "--", ...npm],
    });
  }
  for (const plan of plans) {
    const started = performance.now();
    const result = await sandbox.exec(plan.argv, {
      timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const durationMs = performance.now() - started;
    if (result.exitCode !== 0) {
      throw new SandboxFailedError(
        `${plan.installer} install of ${plan.packages.join(", ")} failed with exit code ${result.exitCode}${result.timedOut ? " (timed out)" : ""}: ${result.stderr.slice(-2000)}`,
        { isRetryable: false },
      );
    }
    steps.push({ installer: plan.installer, packages: plan.packages, durationMs });
  }
  return steps;
}
