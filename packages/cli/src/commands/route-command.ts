/**
 * `sandport route --explain`: which provider the router would choose for a workload, the ranked
 * candidates and every rejected provider with its reason. Creates nothing.
 */
import { type CreateSandboxRequest, InvalidRequestError, type Runtime } from "@sandport/core";
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { loadCliConfig } from "../load-config.ts";
import { parseLanguageOption } from "../option-parsers.ts";

/** Options of `sandport route`, as parsed. */
export interface RouteCommandOptions {
  explain?: boolean;
  lang?: Runtime;
  cpu?: string;
  memory?: string;
  gpu?: string;
  label?: string[];
  manifest?: string;
  json?: boolean;
}

/** Adds `route` to `program`. */
export function registerRouteCommand(program: Command, context: CliContext): void {
  program
    .command("route")
    .description("explain which provider the router chooses for a workload, and why the others were left out")
    .option("--explain", "print the decision table (the default and only action)")
    .option("-l, --lang <language>", "runtime the workload needs", parseLanguageOption)
    .option("--cpu <vcpus>", "vCPUs")
    .option("--memory <mib>", "memory, MiB")
    .option("--gpu <type[:count]>", 'a GPU, e.g. "A100" or "H100:2"')
    .option("--label <key=value>", "a label (repeatable)", (value: string, previous: string[] = []) => [
      ...previous,
      value,
    ])
    .option("--manifest <path>", "a sandbox.json manifest describing the workload")
    .option("--json", "print the decision as JSON")
    .action(async (options: RouteCommandOptions) => {
      context.setExitCode(await executeRouteCommand(options, context));
    });
}

function positiveNumber(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!(value > 0)) throw new InvalidRequestError(`${option}: expected a positive number, got "${text}"`);
  return value;
}

/** The request the options describe (over the manifest's, when one is given). */
async function requestOf(options: RouteCommandOptions, cwd: string): Promise<CreateSandboxRequest> {
  const { requestFromManifest } = await import("@sandport/router");
  const { readSandboxManifest } = await import("@sandport/router/node");
  const { resolve } = await import("node:path");
  const base =
    options.manifest === undefined
      ? {}
      : requestFromManifest(await readSandboxManifest(resolve(cwd, options.manifest)));
  const labels: Record<string, string> = { ...base.labels };
  for (const label of options.label ?? []) {
    const separator = label.indexOf("=");
    if (separator <= 0) throw new InvalidRequestError(`--label: expected key=value, got "${label}"`);
    labels[label.slice(0, separator)] = label.slice(separator + 1);
  }
  const cpu = positiveNumber(options.cpu, "--cpu");
  const memoryMb = positiveNumber(options.memory, "--memory");
  let gpu: { type: string; count: number } | undefined;
  if (options.gpu !== undefined) {
    const [type, count = "1"] = options.gpu.split(":");
    gpu = { type: type as string, count: positiveNumber(count, "--gpu count") as number };
  }
  const resources = {
    ...base.resources,
    ...(cpu === undefined ? {} : { cpu }),
    ...(memoryMb === undefined ? {} : { memoryMb }),
    ...(gpu === undefined ? {} : { gpu }),
  };
  return {
    ...base,
    ...(options.lang === undefined ? {} : { runtime: options.lang }),
    ...(Object.keys(resources).length === 0 ? {} : { resources }),
    ...(Object.keys(labels).length === 0 ? {} : { labels }),
  };
}

/** Runs `sandport route`; returns the exit code (1 when no provider can take the workload). */
export async function executeRouteCommand(
  options: RouteCommandOptions,
  context: CliContext,
): Promise<number> {
  const { environment, registry } = context;
  const { config } = loadCliConfig({ registry, environment, path: context.globalOptions().config });
  const request = await requestOf(options, environment.cwd);
  const { createSandport } = await import("sandport");
  const sandport = createSandport({ config, registry, env: environment.env });
  try {
    const router = await sandport.router();
    const decision = router.explain(request);
    if (options.json === true) {
      environment.stdout.write(`${JSON.stringify({ request, ...decision }, null, 2)}\n`);
    } else {
      const lines = [
        decision.chosen === undefined ? "no provider can take this workload" : `chosen: ${decision.chosen}`,
        ...(decision.matchedRules.length === 0
          ? []
          : [`policy rules matched: ${decision.matchedRules.join(", ")}`]),
        "",
        "candidates (in the order create tries them):",
        ...decision.candidates.map(
          (candidate, index) =>
            `  ${index + 1}. ${candidate.providerId}  score ${candidate.score.toFixed(3)}  preference ${candidate.preferenceRank}  ` +
            `latency ~${Math.round(candidate.expectedLatencyMs)} ms  cost ~$${candidate.estimatedCostUsd.toFixed(5)}`,
        ),
        ...(decision.candidates.length === 0 ? ["  (none)"] : []),
        "",
        "rejected:",
        ...decision.rejected.map(
          (rejection) => `  ${rejection.providerId} (${rejection.kind}): ${rejection.reasons.join("; ")}`,
        ),
        ...(decision.rejected.length === 0 ? ["  (none)"] : []),
      ];
      environment.stdout.write(`${lines.join("\n")}\n`);
    }
    return decision.chosen === undefined ? 1 : 0;
  } finally {
    await sandport.dispose();
  }
}
