/** `@sandport/router`: one `SandboxProvider` that picks a backend per request from policy and workload size. */
export { estimatedCost, estimatedCostPerHour } from "./cost-estimate.ts";
export {
  installManifestPackages,
  type PackageInstallOptions,
  type PackageInstallStep,
} from "./package-install.ts";
export { type HealthReport, ProviderHealth } from "./provider-health.ts";
export {
  decideRoute,
  describeRejections,
  type RouteCandidate,
  type RouteDecision,
  type RouteProvider,
  type RouteRejection,
} from "./route-decision.ts";
export {
  createRouter,
  type DeferredProvider,
  type ReapReport,
  Router,
  type RouterOptions,
} from "./router.ts";
export { routerCapabilities } from "./router-capabilities.ts";
export type {
  LedgerErrorEvent,
  ProviderCallEvent,
  RouteDecisionEvent,
  RouterEvent,
} from "./router-events.ts";
export { isRouter, servingProviderId } from "./router-identity.ts";
export {
  createMemoryLedger,
  type LedgerEntry,
  type RecordedHealth,
  type RouterLedger,
} from "./router-ledger.ts";
export {
  type PolicyRequirement,
  type PolicyRule,
  parseRoutingPolicy,
  type RoutingPolicy,
  type RuleMatch,
  routingPolicySchema,
} from "./routing-policy.ts";
export {
  parseSandboxManifest,
  requestFromManifest,
  type SandboxManifest,
  sandboxManifestSchema,
} from "./sandbox-manifest.ts";
export {
  routerOptionsKey,
  type Workload,
  type WorkloadHints,
  type WorkloadNeed,
  workloadOf,
} from "./workload.ts";
