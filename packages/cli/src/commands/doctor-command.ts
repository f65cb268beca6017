/**
 * `sandport doctor`: can the configured providers that run on this machine work here? Each
 * provider type diagnoses itself (`ProviderFactory.diagnose`): the local backend reports its
 * isolation and limits, a local-mode isolate provider whether its engine starts. The CLI names no
 * provider type.
 */
import {
  type ConfiguredProvider,
  configuredProvider,
  configuredProviders,
  type ProviderDiagnosis,
  resolveSecretReferences,
} from "@sandport/core";
import { nodeSecretSource } from "@sandport/core/node";
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { loadProviderTypes } from "../command-registry.ts";
import { exitCodes } from "../exit-codes.ts";
import { loadCliConfig } from "../load-config.ts";

/** Options of `sandport doctor`, as parsed. */
export interface DoctorCommandOptions {
  provider?: string;
  json?: boolean;
}

/** One provider's findings, as `sandport doctor --json` prints them. */
export interface DoctorFinding extends ProviderDiagnosis {
  provider: string;
  type: string;
}

/** What `sandport doctor --json` prints. */
export interface DoctorReport {
  /** Every configured provider that runs on this machine (or the one asked for). */
  providers: DoctorFinding[];
}

/** Adds `doctor` to `program`. */
export function registerDoctorCommand(program: Command, context: CliContext): void {
  program
    .command("doctor")
    .description("check that the configured providers that run on this machine work here")
    .option("--provider <name>", "check only this configured provider")
    .option("--json", "print the findings as JSON")
    .action(async (options: DoctorCommandOptions) => {
      context.setExitCode(await executeDoctorCommand(options, context));
    });
}

/**
 * Runs `sandport doctor`; returns 0 when every checked provider can run here, 1 when one cannot.
 * `diagnose` replaces a factory's own check, so failure paths can be tested on a machine that works.
 */
export async function executeDoctorCommand(
  options: DoctorCommandOptions,
  context: CliContext,
  diagnose: (entry: ConfiguredProvider, settings: object) => Promise<ProviderDiagnosis> = (entry, settings) =>
    entry.factory.diagnose?.(settings, { providerId: entry.name }) ?? Promise.resolve(nothingToCheck),
): Promise<number> {
  const { environment, registry } = context;
  const { config } = loadCliConfig({ registry, environment, path: context.globalOptions().config });
  await loadProviderTypes(registry, config, options.provider);
  const entries =
    options.provider === undefined
      ? configuredProviders({ config, registry }).filter((entry) => entry.factory.diagnose !== undefined)
      : [configuredProvider(options.provider, { config, registry })];
  const findings: DoctorFinding[] = [];
  for (const entry of entries) {
    // Settings such as a state directory may be references: resolved for this provider only.
    const settings = resolveSecretReferences(
      entry.settings,
      nodeSecretSource(environment.env),
      `providers.${entry.name}`,
    );
    findings.push({ provider: entry.name, type: entry.factory.type, ...(await diagnose(entry, settings)) });
  }
  const report: DoctorReport = { providers: findings };
  const text = options.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report);
  environment.stdout.write(context.redact(text));
  return findings.every((finding) => finding.usable) ? exitCodes.success : exitCodes.failure;
}

const nothingToCheck: ProviderDiagnosis = {
  usable: true,
  lines: ["nothing to check on this machine: this provider runs elsewhere"],
};

/** The human-readable `sandport doctor` output. */
export function formatDoctorReport(report: DoctorReport): string {
  if (report.providers.length === 0) return "no configured provider runs on this machine: nothing to check\n";
  const lines: string[] = [];
  for (const finding of report.providers) {
    lines.push(
      `provider "${finding.provider}" (${finding.type}): ${finding.usable ? "usable" : "NOT usable"}`,
    );
    for (const line of finding.lines) lines.push(`  ${line}`);
    if (finding.problem !== undefined) lines.push(`  problem:    ${finding.problem}`);
  }
  return `${lines.join("\n")}\n`;
}
