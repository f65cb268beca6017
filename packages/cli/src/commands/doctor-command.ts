/**
 * `sandport doctor`: can the local backend isolate code on this machine, and with what? And when a
 * `cloudflare-isolate` provider runs locally (as on the embedded default), does its engine start?
 */

import { checkIsolateEngine, type IsolateEngineReport } from "@sandport/cloudflare";
import {
  ConfigInvalidError,
  describeIssues,
  InvalidRequestError,
  resolveSecretReferences,
  type SandportConfig,
} from "@sandport/core";
import { nodeSecretSource } from "@sandport/core/node";
import {
  detectIsolation,
  type IsolationReport,
  type LocalProviderSettings,
  localProviderFactory,
} from "@sandport/local";
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import type { CliEnvironment } from "../cli-environment.ts";
import { exitCodes } from "../exit-codes.ts";
import { loadCliConfig } from "../load-config.ts";

/** Options of `sandport doctor`, as parsed. */
export interface DoctorCommandOptions {
  provider?: string;
  json?: boolean;
}

/** What `sandport doctor --json` prints. */
export interface DoctorReport extends IsolationReport {
  /** The configured local provider that was checked, or null when none is configured (defaults were checked). */
  provider: string | null;
  /** Why `selected` was chosen, in words. */
  selectionReason: string;
  /** The local-mode isolate engine, checked when a `cloudflare-isolate` provider runs locally; else null. */
  isolateEngine: (IsolateEngineReport & { provider: string }) | null;
}

/** Adds `doctor` to `program`. */
export function registerDoctorCommand(program: Command, context: CliContext): void {
  program
    .command("doctor")
    .description("check that the local sandbox backend, and the local isolate engine, work on this machine")
    .option("--provider <name>", "configured local provider to check (default: the first one of type local)")
    .option("--json", "print the findings as JSON")
    .action(async (options: DoctorCommandOptions) => {
      context.setExitCode(await executeDoctorCommand(options, context));
    });
}

/**
 * Runs `sandport doctor`; returns 0 when sandboxes can run here, 1 when they cannot. `detect` is
 * the local backend's probe, replaceable so the failure path can be tested on a machine that works.
 */
export async function executeDoctorCommand(
  options: DoctorCommandOptions,
  context: CliContext,
  detect: typeof detectIsolation = detectIsolation,
  checkEngine: typeof checkIsolateEngine = checkIsolateEngine,
): Promise<number> {
  const { environment, registry } = context;
  const { config } = loadCliConfig({ registry, environment, path: context.globalOptions().config });
  const name = selectLocalProvider(config, options.provider);
  const settings = name === undefined ? {} : localSettingsOf(config, name, environment);
  const isolation = await detect(settings);
  const isolateProvider = localIsolateProvider(config);
  const report: DoctorReport = {
    provider: name ?? null,
    ...isolation,
    selectionReason: explainSelection(isolation, settings, name),
    isolateEngine:
      isolateProvider === undefined ? null : { provider: isolateProvider, ...(await checkEngine()) },
  };
  const text = options.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report);
  environment.stdout.write(context.redact(text));
  const engineBroken = report.isolateEngine !== null && !report.isolateEngine.usable;
  return report.selected === undefined || engineBroken ? exitCodes.failure : exitCodes.success;
}

/** The first `cloudflare-isolate` provider in local mode (its default), if the config has one. */
function localIsolateProvider(config: SandportConfig): string | undefined {
  return Object.entries(config.providers).find(
    ([, entry]) => entry.type === "cloudflare-isolate" && (entry as { mode?: unknown }).mode !== "remote",
  )?.[0];
}

/** The local provider to check: the one named, else the default if it is local, else the first local one. */
function selectLocalProvider(config: SandportConfig, requested: string | undefined): string | undefined {
  const type = localProviderFactory.type;
  const entries = Object.entries(config.providers);
  if (requested !== undefined) {
    // Own entries only: `--provider toString` must not find Object.prototype's.
    const entry = Object.hasOwn(config.providers, requested) ? config.providers[requested] : undefined;
    if (entry === undefined) {
      throw new InvalidRequestError(
        `unknown provider "${requested}"; configured providers: ${entries.map(([name]) => name).join(", ") || "(none)"}`,
      );
    }
    if (entry.type !== type) {
      throw new InvalidRequestError(
        `doctor checks the ${type} backend, and provider "${requested}" has type "${entry.type}"`,
      );
    }
    return requested;
  }
  if (config.default !== undefined && config.providers[config.default]?.type === type) return config.default;
  return entries.find(([, entry]) => entry.type === type)?.[0];
}

function localSettingsOf(
  config: SandportConfig,
  name: string,
  environment: Pick<CliEnvironment, "env">,
): LocalProviderSettings {
  const { type: _type, ...raw } = config.providers[name] ?? { type: localProviderFactory.type };
  const path = `providers.${name}`;
  const resolved = resolveSecretReferences(raw, nodeSecretSource(environment.env), path);
  const settings = localProviderFactory.settingsSchema.safeParse(resolved);
  if (!settings.success) {
    throw new ConfigInvalidError(`invalid settings: ${describeIssues(settings.error, path)}`, {
      cause: settings.error,
    });
  }
  return { ...(settings.data as LocalProviderSettings), providerId: name };
}

function explainSelection(
  report: IsolationReport,
  settings: LocalProviderSettings,
  name: string | undefined,
): string {
  const forced = settings.isolation !== undefined && settings.isolation !== "auto";
  const setting = `providers.${name ?? "local"}.isolation`;
  if (report.selected === "none") {
    return `${setting} turns isolation off: commands run unisolated on the host, for development only`;
  }
  if (report.selected === undefined) {
    return forced ? `the isolation ${setting} requires is not usable` : "no isolation is usable";
  }
  if (forced) return `required by ${setting}`;
  return "the packaged sandbox supervisor builds each sandbox's namespaces itself";
}

/** The human-readable `sandport doctor` output. */
export function formatDoctorReport(report: DoctorReport): string {
  const lines: string[] = [];
  lines.push(
    report.provider === null
      ? "local backend (no local provider configured; checked with default settings)"
      : `local backend, provider "${report.provider}"`,
  );
  lines.push("isolation:");
  const width = Math.max(...report.tools.map((tool) => tool.name.length));
  for (const tool of report.tools) {
    const state = tool.usable
      ? `usable      ${tool.path ?? ""}`
      : `not usable  ${tool.reason ?? ""}${tool.path === undefined ? "" : ` (${tool.path})`}`;
    lines.push(`  ${tool.name.padEnd(width)}  ${state.trimEnd()}`);
  }
  lines.push(`selected:   ${report.selected ?? "nothing"} (${report.selectionReason})`);
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
  if (report.problem !== undefined) lines.push(`problem:    ${report.problem}`);
  const engine = report.isolateEngine;
  if (engine !== null) {
    lines.push(`isolate engine, provider "${engine.provider}" (cloudflare-isolate, local):`);
    lines.push(
      engine.usable
        ? `  workerd ${engine.workerdVersion ?? "(version unknown)"}: ran a test isolate in ${Math.round(engine.startMs ?? 0)} ms (start included)`
        : `  not usable: ${engine.problem ?? "unknown reason"}`,
    );
    lines.push(
      engine.boundToHost
        ? "  engines die with their host process, even when it is killed (setpriv --pdeathsig)"
        : "  engines stop when their host exits, but would outlive a host that is killed (no setpriv --pdeathsig here)",
    );
  }
  return `${lines.join("\n")}\n`;
}
