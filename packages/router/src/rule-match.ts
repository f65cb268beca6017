/** Whether a policy rule's `match` holds for a workload. */
import { listOf, type NumberRange, type RuleMatch } from "./routing-policy.ts";
import type { Workload } from "./workload.ts";

function inRange(value: number | undefined, range: NumberRange | undefined): boolean {
  if (range === undefined) return true;
  // A bound on something the workload does not state does not match: the rule is about sizes.
  if (value === undefined) return false;
  return (
    (range.gt === undefined || value > range.gt) &&
    (range.gte === undefined || value >= range.gte) &&
    (range.lt === undefined || value < range.lt) &&
    (range.lte === undefined || value <= range.lte)
  );
}

/** The network mode a workload asks for. */
function networkMode(workload: Workload): "none" | "open" | "allowlist" | undefined {
  const egress = workload.request.network?.egress;
  if (egress === undefined) return undefined;
  return typeof egress === "string" ? egress : "allowlist";
}

/** Whether every field of `match` holds for `workload` (an absent `match` always holds). */
export function ruleMatches(match: RuleMatch | undefined, workload: Workload): boolean {
  if (match === undefined) return true;
  const { request, hints } = workload;
  const labels = request.labels ?? {};
  if (match.labels !== undefined) {
    for (const [key, value] of Object.entries(match.labels)) {
      if (!Object.hasOwn(labels, key) || labels[key] !== value) return false;
    }
  }
  const runtimes = listOf(match.runtime);
  if (runtimes !== undefined && (request.runtime === undefined || !runtimes.includes(request.runtime)))
    return false;
  const resources = request.resources ?? {};
  if (!inRange(resources.cpu, match.cpu)) return false;
  if (!inRange(resources.memoryMb, match.memoryMb)) return false;
  if (!inRange(resources.diskMb, match.diskMb)) return false;
  if (!inRange(hints.expectedDurationMs, match.expectedDurationMs)) return false;
  if (match.gpu !== undefined) {
    const gpu = resources.gpu;
    if (typeof match.gpu === "boolean") {
      if (match.gpu !== (gpu !== undefined)) return false;
    } else if (gpu === undefined || !(listOf(match.gpu) ?? []).includes(gpu.type)) return false;
  }
  const modes = listOf(match.network);
  if (modes !== undefined) {
    const mode = networkMode(workload);
    if (mode === undefined || !modes.includes(mode)) return false;
  }
  const regions = listOf(match.region);
  if (regions !== undefined && (request.region === undefined || !regions.includes(request.region)))
    return false;
  return true;
}
