/** Merges a case's request into the suite's base request. */
import type { CreateSandboxRequest } from "@sandport/core";

/**
 * Shallow merge, except that `env`, `labels`, `resources` and `providerOptions` merge key by key,
 * so a case adding one variable keeps the caller's image and the suite's run label.
 */
export function mergeCreateRequest(
  base: CreateSandboxRequest,
  override: CreateSandboxRequest = {},
): CreateSandboxRequest {
  const merged: CreateSandboxRequest = { ...base, ...override };
  if (base.env !== undefined || override.env !== undefined) merged.env = { ...base.env, ...override.env };
  if (base.labels !== undefined || override.labels !== undefined) {
    merged.labels = { ...base.labels, ...override.labels };
  }
  if (base.resources !== undefined || override.resources !== undefined) {
    merged.resources = { ...base.resources, ...override.resources };
  }
  if (base.providerOptions !== undefined || override.providerOptions !== undefined) {
    merged.providerOptions = { ...base.providerOptions, ...override.providerOptions };
  }
  return merged;
}
