/** `sandport doctor` for the local backend: which isolation works here, with what limits, and why. */
import type { ProviderDiagnosis } from "@sandport/core";
import { detectIsolation, type IsolationReport } from "./isolation-detect.ts";
import type { LocalProviderSettings } from "./local-settings.ts";

function selectionReason(report: IsolationReport): string {
  if (report.selected === "none") {
    return 'isolation "none" turns isolation off: commands run unisolated on the host, for development only';
  }
  if (report.selected === undefined) return "no isolation is usable";
  return "the packaged sandbox supervisor builds each sandbox's namespaces itself";
}

/** The findings for people, one line each. */
export function describeIsolationReport(report: IsolationReport): string[] {
  const lines: string[] = [];
  for (const tool of report.tools) {
    lines.push(
      tool.usable
        ? `isolation:  ${tool.name} usable (${tool.path ?? ""})`
        : `isolation:  ${tool.name} not usable: ${tool.reason ?? "unknown reason"}${tool.path === undefined ? "" : ` (${tool.path})`}`,
    );
  }
  lines.push(`selected:   ${report.selected ?? "nothing"} (${selectionReason(report)})`);
  lines.push(
    `running as: ${report.runningAsRoot ? "root" : "an unprivileged user"}; sandboxes run as uid ${report.sandboxUid}`,
  );
  const runtimes = (["shell", "python", "javascript"] as const).map(
    (runtime) => `${runtime} ${report.runtimes[runtime] ?? "(not found)"}`,
  );
  lines.push(`runtimes:   ${runtimes.join(", ")}`);
  lines.push(
    report.limits.scope === "sandbox"
      ? `limits:     per sandbox (cgroup v${report.limits.cgroupVersion}: memory incl. /tmp and shared memory, processes, cpu)`
      : `limits:     per process only (rlimits)${report.limits.reason === undefined ? "" : `: ${report.limits.reason}`}`,
  );
  if (report.limits.fix !== undefined)
    lines.push(`            to limit each sandbox as a whole: ${report.limits.fix}`);
  return lines;
}

/** Probes this machine for a local provider of `settings`. */
export async function diagnoseLocal(
  settings: LocalProviderSettings,
  detect: typeof detectIsolation = detectIsolation,
): Promise<ProviderDiagnosis> {
  const report = await detect(settings);
  return {
    usable: report.selected !== undefined,
    lines: describeIsolationReport(report),
    ...(report.problem === undefined ? {} : { problem: report.problem }),
    details: { ...report },
  };
}
