/**
 * `sandbox.json`: what a team's code needs of a sandbox, kept next to the code. It becomes a
 * workload for the router (runtime, resources, network, expected duration) and, after create, the
 * packages to install.
 */
import { ConfigInvalidError, type CreateSandboxRequest, describeIssues, runtimes } from "@sandport/core";
import * as z from "zod";
import { routerOptionsKey, workloadNeeds } from "./workload.ts";

// Package names as pip and npm spell them, with an optional version spec; never an option or a URL.
const pipPackagePattern =
  /^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?([<>=!~]=?[A-Za-z0-9.*+!_-]+(,[<>=!~]=?[A-Za-z0-9.*+!_-]+)*)?$/;
const npmPackagePattern = /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*(@[A-Za-z0-9.^~<>=*|+ _-]+)?$/;

/** The schema of `sandbox.json` (also the source of `sandbox.schema.json`). */
export const sandboxManifestSchema = z.strictObject({
  $schema: z.string().optional(),
  runtime: z.enum(runtimes).optional(),
  resources: z
    .strictObject({
      cpu: z.number().positive().optional().meta({ description: "vCPUs." }),
      memoryMb: z.number().int().positive().optional().meta({ description: "Memory, MiB." }),
      diskMb: z.number().int().positive().optional().meta({ description: "Disk, MiB." }),
      gpu: z.strictObject({ type: z.string().min(1), count: z.number().int().positive() }).optional(),
    })
    .optional(),
  packages: z
    .strictObject({
      pip: z
        .array(z.string().regex(pipPackagePattern, "a pip requirement such as numpy or numpy==2.1"))
        .optional(),
      npm: z
        .array(z.string().regex(npmPackagePattern, "an npm package such as lodash or lodash@4"))
        .optional(),
    })
    .optional()
    .meta({ description: "Installed in the sandbox after create." }),
  network: z
    .strictObject({
      egress: z.union([
        z.enum(["none", "open"]),
        z.strictObject({ allow: z.array(z.string().min(1)).min(1) }),
      ]),
    })
    .optional(),
  region: z.string().min(1).optional(),
  expectedDurationMs: z.number().int().positive().optional(),
  needs: z.array(z.enum(workloadNeeds)).optional().meta({ description: "Sandbox features the code uses." }),
  labels: z.record(z.string(), z.string()).optional(),
});

export type SandboxManifest = z.infer<typeof sandboxManifestSchema>;

/** Validates a parsed `sandbox.json`; errors name the path. */
export function parseSandboxManifest(input: unknown, source = "sandbox.json"): SandboxManifest {
  const result = sandboxManifestSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigInvalidError(`${source}: ${describeIssues(result.error)}`, { cause: result.error });
  }
  return result.data;
}

/** The create request for a manifest, with its hints for the router. */
export function requestFromManifest(manifest: SandboxManifest): CreateSandboxRequest {
  const needs = new Set(manifest.needs ?? []);
  // Installing packages writes files and runs commands: the sandbox needs a filesystem.
  if ((manifest.packages?.pip?.length ?? 0) + (manifest.packages?.npm?.length ?? 0) > 0)
    needs.add("filesystem");
  return {
    ...(manifest.runtime === undefined ? {} : { runtime: manifest.runtime }),
    ...(manifest.resources === undefined ? {} : { resources: manifest.resources }),
    ...(manifest.network === undefined ? {} : { network: manifest.network }),
    ...(manifest.region === undefined ? {} : { region: manifest.region }),
    ...(manifest.labels === undefined ? {} : { labels: manifest.labels }),
    providerOptions: {
      [routerOptionsKey]: {
        ...(manifest.expectedDurationMs === undefined
          ? {}
          : { expectedDurationMs: manifest.expectedDurationMs }),
        ...(needs.size === 0 ? {} : { needs: [...needs] }),
      },
    },
  };
}
