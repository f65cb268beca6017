/**
 * The routing policy of `sandport.json` (`"policy": { ... }`): a preference order, ordered rules
 * that match a workload and then allow, deny, require or prefer providers, ranking weights and a
 * cost ceiling. Validated by zod; problems that only the provider set reveals (an unknown provider,
 * a rule that can never match, a requirement no allowed provider meets) are `config_invalid` at
 * load, naming the path.
 */
import {
  ConfigInvalidError,
  describeIssues,
  type IsolationKind,
  type ProviderCapabilities,
  runtimes,
} from "@sandport/core";
import * as z from "zod";

/** Bounds on a number: every bound given must hold. */
const numberRangeSchema = z
  .strictObject({
    gt: z.number().optional(),
    gte: z.number().optional(),
    lt: z.number().optional(),
    lte: z.number().optional(),
  })
  .meta({ description: "Bounds on a number; every bound given must hold." });

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

const isolationKinds = ["none", "v8-isolate", "namespace", "container", "gvisor", "microvm"] as const;

/** What a rule matches on; every field given must match (an empty `match` matches every workload). */
export const ruleMatchSchema = z.strictObject({
  labels: z
    .record(z.string(), z.string())
    .optional()
    .meta({ description: "Labels the workload must carry, with these values." }),
  runtime: oneOrMany(z.enum(runtimes)).optional(),
  cpu: numberRangeSchema.optional(),
  memoryMb: numberRangeSchema.optional(),
  diskMb: numberRangeSchema.optional(),
  expectedDurationMs: numberRangeSchema.optional(),
  gpu: z
    .union([z.boolean(), oneOrMany(z.string().min(1))])
    .optional()
    .meta({ description: "true: any GPU requested; false: none; a type name (or names): that type." }),
  network: oneOrMany(z.enum(["none", "open", "allowlist"])).optional(),
  region: oneOrMany(z.string().min(1)).optional(),
});

/** Properties a provider must have for a matching workload. */
export const requirementSchema = z.strictObject({
  residency: z.enum(["self-hosted", "vendor-cloud"]).optional(),
  region: oneOrMany(z.string().min(1)).optional(),
  isolation: oneOrMany(z.enum(isolationKinds)).optional(),
});

/** One rule: when `match` matches, its actions apply (all matching rules apply, in order). */
export const policyRuleSchema = z.strictObject({
  name: z.string().min(1).meta({ description: "Named in explanations and errors." }),
  match: ruleMatchSchema.optional(),
  allow: z.array(z.string().min(1)).min(1).optional().meta({ description: "Only these providers." }),
  deny: z.array(z.string().min(1)).min(1).optional().meta({ description: "Never these providers." }),
  require: requirementSchema.optional(),
  prefer: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .meta({ description: "Try these providers first, in this order." }),
});

/** Ranking weights: each term is multiplied by its weight and the lowest total wins. */
export const rankingWeightsSchema = z.strictObject({
  preference: z
    .number()
    .nonnegative()
    .optional()
    .meta({ description: "Per place in the preference order. Default 1." }),
  latency: z
    .number()
    .nonnegative()
    .optional()
    .meta({ description: "Per second of expected cold start. Default 1." }),
  cost: z
    .number()
    .nonnegative()
    .optional()
    .meta({ description: "Per US cent of estimated cost. Default 1." }),
});

/** The whole `policy` section. */
export const routingPolicySchema = z.strictObject({
  prefer: z
    .array(z.string().min(1))
    .optional()
    .meta({ description: "Preference order of provider names; unlisted providers follow in config order." }),
  rules: z.array(policyRuleSchema).optional(),
  weights: rankingWeightsSchema.optional(),
  maxCostPerHour: z
    .number()
    .nonnegative()
    .optional()
    .meta({ description: "Ceiling on a sandbox's estimated cost per hour, USD." }),
  createTimeoutMs: z.number().int().positive().optional().meta({
    description:
      "How long one provider may take to create a sandbox before the router moves on. Default 60000.",
  }),
  circuitBreaker: z
    .strictObject({
      failures: z
        .number()
        .int()
        .positive()
        .optional()
        .meta({ description: "Consecutive failures that open the circuit. Default 3." }),
      halfOpenAfterMs: z
        .number()
        .int()
        .positive()
        .optional()
        .meta({ description: "When an open circuit lets one probe through. Default 30000." }),
    })
    .optional(),
  ledger: z
    .strictObject({
      path: z.string().min(1).optional().meta({
        description:
          'SQLite file of live sandboxes; ":memory:" keeps none across processes. Default under the user\'s state directory.',
      }),
      reapAtStart: z
        .boolean()
        .optional()
        .meta({ description: "Reap what dead processes left behind when the router starts." }),
    })
    .optional(),
});

export type RuleMatch = z.infer<typeof ruleMatchSchema>;
export type PolicyRequirement = z.infer<typeof requirementSchema>;
export type PolicyRule = z.infer<typeof policyRuleSchema>;
export type RoutingPolicy = z.infer<typeof routingPolicySchema>;
export type NumberRange = z.infer<typeof numberRangeSchema>;

/** A list or a single value, as a list. */
export function listOf<T>(value: T | readonly T[] | undefined): readonly T[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

/** Whether no number can satisfy `range`. */
function emptyRange(range: NumberRange | undefined): boolean {
  if (range === undefined) return false;
  const lower = Math.max(range.gt ?? Number.NEGATIVE_INFINITY, range.gte ?? Number.NEGATIVE_INFINITY);
  const upper = Math.min(range.lt ?? Number.POSITIVE_INFINITY, range.lte ?? Number.POSITIVE_INFINITY);
  const lowerOpen = range.gt !== undefined && range.gt >= (range.gte ?? Number.NEGATIVE_INFINITY);
  const upperOpen = range.lt !== undefined && range.lt <= (range.lte ?? Number.POSITIVE_INFINITY);
  return lower > upper || (lower === upper && (lowerOpen || upperOpen));
}

/** Whether `capabilities` meet `requirement` (the reason when not). */
export function requirementProblem(
  requirement: PolicyRequirement,
  capabilities: ProviderCapabilities,
  region: string | undefined,
): string | undefined {
  if (requirement.residency !== undefined && capabilities.residency !== requirement.residency) {
    return `requires ${requirement.residency} (this provider is ${capabilities.residency})`;
  }
  const isolation = listOf<IsolationKind>(requirement.isolation);
  if (isolation !== undefined && !isolation.includes(capabilities.isolation)) {
    return `requires isolation ${isolation.join(" or ")} (this provider is ${capabilities.isolation})`;
  }
  const regions = listOf(requirement.region);
  if (regions !== undefined) {
    // The workload's own region must be one of them, or the provider must offer one of them.
    const usable = region !== undefined ? [region] : capabilities.regions;
    if (!usable.some((name) => regions.includes(name) && capabilities.regions.includes(name))) {
      return `requires region ${regions.join(" or ")}`;
    }
  }
  return undefined;
}

/**
 * Parses `input` (the `policy` section) for the providers `capabilities` describes (by name, in
 * config order). Refuses, with the JSON path: unknown provider names, rules that can never match,
 * and requirements that no provider a rule allows can meet.
 */
export function parseRoutingPolicy(
  input: unknown,
  capabilities: ReadonlyMap<string, ProviderCapabilities>,
): RoutingPolicy {
  const result = routingPolicySchema.safeParse(input ?? {});
  if (!result.success) {
    throw new ConfigInvalidError(`invalid routing policy: ${describeIssues(result.error, "policy")}`, {
      cause: result.error,
    });
  }
  const policy = result.data;
  const known = [...capabilities.keys()];
  const checkNames = (names: readonly string[] | undefined, path: string) => {
    names?.forEach((name, index) => {
      if (!capabilities.has(name)) {
        throw new ConfigInvalidError(
          `${path}[${index}]: unknown provider "${name}"; configured: ${known.join(", ") || "(none)"}`,
        );
      }
    });
  };
  checkNames(policy.prefer, "policy.prefer");
  const names = new Set<string>();
  policy.rules?.forEach((rule, index) => {
    const path = `policy.rules[${index}]`;
    if (names.has(rule.name))
      throw new ConfigInvalidError(`${path}.name: "${rule.name}" is used by an earlier rule`);
    names.add(rule.name);
    checkNames(rule.allow, `${path}.allow`);
    checkNames(rule.deny, `${path}.deny`);
    checkNames(rule.prefer, `${path}.prefer`);
    const match = rule.match ?? {};
    for (const key of ["cpu", "memoryMb", "diskMb", "expectedDurationMs"] as const) {
      if (emptyRange(match[key])) {
        throw new ConfigInvalidError(
          `${path}.match.${key}: no value satisfies these bounds, so the rule can never match`,
        );
      }
    }
    if (
      rule.allow === undefined &&
      rule.deny === undefined &&
      rule.require === undefined &&
      rule.prefer === undefined
    ) {
      throw new ConfigInvalidError(`${path}: the rule has no action (allow, deny, require or prefer)`);
    }
    const allowed = (rule.allow ?? known).filter((name) => !(rule.deny ?? []).includes(name));
    if (allowed.length === 0) {
      throw new ConfigInvalidError(`${path}: allow and deny leave no provider for the workloads it matches`);
    }
    if (rule.require !== undefined) {
      const requirement = rule.require;
      const meeting = allowed.filter(
        (name) =>
          requirementProblem(requirement, capabilities.get(name) as ProviderCapabilities, undefined) ===
          undefined,
      );
      if (meeting.length === 0) {
        throw new ConfigInvalidError(
          `${path}.require: no provider the rule allows (${allowed.join(", ")}) meets ${JSON.stringify(requirement)}`,
        );
      }
    }
  });
  return policy;
}
