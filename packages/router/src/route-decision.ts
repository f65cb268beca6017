/**
 * The decision: which providers can take a workload (capabilities, policy, cost ceiling, health),
 * and in which order to try them (preference, expected latency, estimated cost). Deterministic for
 * the same workload, policy and health.
 */
import { type ProviderCapabilities, unsupportedReasons } from "@sandport/core";
import { estimatedCost, estimatedCostPerHour } from "./cost-estimate.ts";
import type { ProviderHealth } from "./provider-health.ts";
import { type RoutingPolicy, requirementProblem } from "./routing-policy.ts";
import { ruleMatches } from "./rule-match.ts";
import type { Workload, WorkloadNeed } from "./workload.ts";

/** One provider the router may use. */
export interface RouteProvider {
  providerId: string;
  capabilities: ProviderCapabilities;
}

/** Why a provider was left out: what kind of reason, and each reason. */
export interface RouteRejection {
  providerId: string;
  /** `capability`: it cannot honour the request; `policy`, `cost`, `health`: it may not take it now. */
  kind: "capability" | "policy" | "cost" | "health";
  reasons: string[];
}

/** A provider that can take the workload, with the terms of its score (lower is better). */
export interface RouteCandidate {
  providerId: string;
  score: number;
  /** Place in the preference order (0 first). */
  preferenceRank: number;
  expectedLatencyMs: number;
  estimatedCostUsd: number;
}

/** What `explain` returns. */
export interface RouteDecision {
  /** The first candidate, if any. */
  chosen: string | undefined;
  /** Candidates in the order `create` tries them. */
  candidates: RouteCandidate[];
  rejected: RouteRejection[];
  /** Names of the policy rules that matched the workload, in order. */
  matchedRules: string[];
}

const featureOfNeed: Record<WorkloadNeed, keyof ProviderCapabilities["features"]> = {
  background: "background",
  ports: "ports",
  filesystem: "filesystem",
  stdin: "stdin",
  streaming: "streaming",
};

/** Decides for `workload` over `providers` (in config order). */
export function decideRoute(
  workload: Workload,
  providers: readonly RouteProvider[],
  policy: RoutingPolicy,
  health: ReadonlyMap<string, ProviderHealth>,
  now: number,
): RouteDecision {
  const matched = (policy.rules ?? []).filter((rule) => ruleMatches(rule.match, workload));
  const preference = matched.find((rule) => rule.prefer !== undefined)?.prefer ?? policy.prefer ?? [];
  const weights = { preference: 1, latency: 1, cost: 1, ...policy.weights };
  const candidates: RouteCandidate[] = [];
  const rejected: RouteRejection[] = [];
  providers.forEach((provider, configIndex) => {
    const { providerId, capabilities } = provider;
    const capabilityReasons = unsupportedReasons(capabilities, workload.request);
    for (const need of workload.hints.needs ?? []) {
      if (!capabilities.features[featureOfNeed[need]])
        capabilityReasons.push(`${need} (features.${featureOfNeed[need]})`);
    }
    if (capabilityReasons.length > 0) {
      rejected.push({
        providerId,
        kind: "capability",
        reasons: capabilityReasons.map((reason) => `does not support ${reason}`),
      });
      return;
    }
    const policyReasons: string[] = [];
    for (const rule of matched) {
      if (rule.allow !== undefined && !rule.allow.includes(providerId)) {
        policyReasons.push(`policy rule '${rule.name}' allows only ${rule.allow.join(", ")}`);
      }
      if (rule.deny?.includes(providerId)) policyReasons.push(`policy rule '${rule.name}' denies it`);
      if (rule.require !== undefined) {
        const problem = requirementProblem(rule.require, capabilities, workload.request.region);
        if (problem !== undefined) policyReasons.push(`policy rule '${rule.name}' ${problem}`);
      }
    }
    if (policyReasons.length > 0) {
      rejected.push({ providerId, kind: "policy", reasons: policyReasons });
      return;
    }
    if (policy.maxCostPerHour !== undefined) {
      const perHour = estimatedCostPerHour(capabilities, workload);
      if (perHour > policy.maxCostPerHour) {
        rejected.push({
          providerId,
          kind: "cost",
          reasons: [
            `estimated $${perHour.toFixed(4)} per hour, over the ceiling of $${policy.maxCostPerHour}`,
          ],
        });
        return;
      }
    }
    const providerHealth = health.get(providerId);
    const unavailable = providerHealth?.unavailableReason(now);
    if (unavailable !== undefined) {
      rejected.push({ providerId, kind: "health", reasons: [unavailable] });
      return;
    }
    const listed = preference.indexOf(providerId);
    const preferenceRank = listed === -1 ? preference.length + configIndex : listed;
    const expectedLatencyMs = providerHealth?.expectedLatencyMs ?? capabilities.priors.coldStartMs;
    const estimatedCostUsd = estimatedCost(capabilities, workload);
    const score =
      weights.preference * preferenceRank +
      weights.latency * (expectedLatencyMs / 1000) +
      weights.cost * (estimatedCostUsd * 100);
    candidates.push({ providerId, score, preferenceRank, expectedLatencyMs, estimatedCostUsd });
  });
  candidates.sort(
    (left, right) =>
      left.score - right.score ||
      left.preferenceRank - right.preferenceRank ||
      (left.providerId < right.providerId ? -1 : 1),
  );
  return {
    chosen: candidates[0]?.providerId,
    candidates,
    rejected,
    matchedRules: matched.map((rule) => rule.name),
  };
}

/** One line per rejected provider: `name: reason; reason`. */
export function describeRejections(rejected: readonly RouteRejection[]): string {
  return rejected.map((rejection) => `${rejection.providerId}: ${rejection.reasons.join("; ")}`).join(" | ");
}
