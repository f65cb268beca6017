/**
 * What the router decides on: the normalized create request plus hints about the work (how long it
 * runs, what of the sandbox it uses). Hints travel in `providerOptions.router`, so a plain
 * `SandboxProvider` caller can give them without a new parameter.
 */
import { type CreateSandboxRequest, InvalidRequestError } from "@sandport/core";
import * as z from "zod";

/** Features of a sandbox a workload uses beyond exec; providers without them are not eligible. */
export const workloadNeeds = ["background", "ports", "filesystem", "stdin", "streaming"] as const;
export type WorkloadNeed = (typeof workloadNeeds)[number];

/** Hints about the work, in `providerOptions.router`. */
export const workloadHintsSchema = z.strictObject({
  expectedDurationMs: z.number().int().positive().optional(),
  needs: z.array(z.enum(workloadNeeds)).optional(),
});
export type WorkloadHints = z.infer<typeof workloadHintsSchema>;

/** A request and its hints. */
export interface Workload {
  request: CreateSandboxRequest;
  hints: WorkloadHints;
}

/** The key of the router's entry in `providerOptions`. */
export const routerOptionsKey = "router";

/** Default expected duration when a workload says none, ms: what cost estimates assume. */
export const defaultExpectedDurationMs = 60_000;

/** Splits a create request into the request for the chosen provider and the router's hints. */
export function workloadOf(request: CreateSandboxRequest): Workload {
  const { [routerOptionsKey]: rawHints, ...providerOptions } = request.providerOptions ?? {};
  const parsed = workloadHintsSchema.safeParse(rawHints ?? {});
  if (!parsed.success) {
    throw new InvalidRequestError(
      `providerOptions.router: ${parsed.error.issues.map((issue) => issue.message).join("; ")}`,
      {
        cause: parsed.error,
      },
    );
  }
  const { providerOptions: _dropped, ...rest } = request;
  const forwarded: CreateSandboxRequest =
    Object.keys(providerOptions).length === 0 ? rest : { ...rest, providerOptions };
  return { request: forwarded, hints: parsed.data };
}
