/** `sandport providers`: the configured providers and what each can do. */
import {
  configuredProvider,
  defaultProviderName,
  type ProviderCapabilities,
  type ProviderLimits,
  type SandportErrorCode,
  toSandportError,
} from "@sandport/core";
import type { RecordedHealth } from "@sandport/router";
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { loadProviderTypes } from "../command-registry.ts";
import { exitCodeForErrorCode, exitCodes } from "../exit-codes.ts";
import { loadCliConfig } from "../load-config.ts";

/** One configured provider as `sandport providers --json` reports it. */
export interface ProviderListing {
  /** Instance name from config. */
  name: string;
  /** Provider type, e.g. `"local"`. */
  type: string;
  /** Whether this is the provider used when none is named. */
  default: boolean;
  /** What the provider declares; absent when it could not be built. */
  capabilities?: ProviderCapabilities;
  /** Why the provider could not be built (for example a missing `${env:...}` variable). */
  error?: { code: SandportErrorCode; message: string };
  /** The router's last recorded health of it (circuit, failures, Retry-After), from the ledger. */
  health?: RecordedHealth;
}

/** Options of `sandport providers`, as parsed. */
export interface ProvidersCommandOptions {
  json?: boolean;
}

/** Adds `providers` to `program`. */
export function registerProvidersCommand(program: Command, context: CliContext): void {
  program
    .command("providers")
    .description("list the configured providers with their isolation, runtimes, network modes and limits")
    .option("--json", "print the list, with full capabilities, as JSON")
    .action(async (options: ProvidersCommandOptions) => {
      context.setExitCode(await executeProvidersCommand(options, context));
    });
}

/**
 * Every configured provider with the capabilities its type declares for its settings; nothing is
 * built, and an adapter is imported only when its type cannot describe itself without it.
 */
export async function listProviders(context: CliContext): Promise<ProviderListing[]> {
  const { environment, registry } = context;
  const { config } = loadCliConfig({ registry, environment, path: context.globalOptions().config });
  const defaultName = defaultProviderName(config);
  const listings: ProviderListing[] = [];
  for (const [name, entry] of Object.entries(config.providers)) {
    const listing = { name, type: entry.type, default: name === defaultName };
    try {
      // Validated settings with references unresolved: a missing secret does not hide a provider.
      const { type, ...settings } = entry;
      let capabilities = registry.capabilities(type, settings, { providerId: name });
      if (capabilities === undefined) {
        await loadProviderTypes(registry, config, name);
        capabilities = configuredProvider(name, { config, registry }).factory.capabilities(settings, {
          providerId: name,
        });
      }
      listings.push({ ...listing, capabilities: capabilities as ProviderCapabilities });
    } catch (error) {
      // One broken entry must not hide the others; it is listed with its reason instead.
      const failure = toSandportError(error, name);
      listings.push({ ...listing, error: { code: failure.code, message: context.redact(failure.message) } });
    }
  }
  const health = await recordedHealth(context, config);
  return listings.map((listing) =>
    health[listing.name] === undefined ? listing : { ...listing, health: health[listing.name] },
  );
}

/**
 * What routers recorded in the ledger about each provider's health (a daemon's open circuit shows
 * here); nothing when the config has a single provider (nothing routes) or the ledger is unusable.
 */
async function recordedHealth(
  context: CliContext,
  config: Parameters<typeof defaultProviderName>[0],
): Promise<Record<string, RecordedHealth>> {
  if (Object.keys(config.providers).length < 2) return {};
  const { createSandport } = await import("sandport");
  const sandport = createSandport({ config, registry: context.registry, env: context.environment.env });
  try {
    return await (await sandport.router()).recordedHealth();
  } catch {
    return {};
  } finally {
    await sandport.dispose();
  }
}

/** Runs `sandport providers`; returns the exit code (non-zero when a provider could not be built). */
export async function executeProvidersCommand(
  options: ProvidersCommandOptions,
  context: CliContext,
): Promise<number> {
  const listings = await listProviders(context);
  const { stdout } = context.environment;
  if (options.json) {
    stdout.write(`${JSON.stringify(listings, null, 2)}\n`);
  } else {
    stdout.write(formatProviderTable(listings));
  }
  const failed = listings.find((listing) => listing.error !== undefined);
  return failed?.error === undefined ? exitCodes.success : exitCodeForErrorCode(failed.error.code);
}

/** The human-readable table of `sandport providers`. */
export function formatProviderTable(listings: readonly ProviderListing[]): string {
  const header = ["NAME", "TYPE", "ISOLATION", "RESIDENCY", "RUNTIMES", "NETWORK", "CIRCUIT", "LIMITS"];
  const rows = listings.map((listing) => {
    const name = listing.default ? `${listing.name} *` : listing.name;
    const capabilities = listing.capabilities;
    if (capabilities === undefined) {
      return [
        name,
        listing.type,
        "-",
        "-",
        "-",
        "-",
        "-",
        `unavailable: [${listing.error?.code}] ${listing.error?.message}`,
      ];
    }
    return [
      name,
      listing.type,
      capabilities.isolation,
      capabilities.residency,
      capabilities.runtimes.join(","),
      capabilities.network.modes.join(","),
      describeCircuit(listing.health),
      describeLimits(capabilities.limits),
    ];
  });
  const widths = header.map((_, column) =>
    Math.max(...[header, ...rows].map((row) => (row[column] ?? "").length)),
  );
  const lines = [header, ...rows].map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
  return `${lines.join("\n")}\n* default provider\n`;
}

/**
 * The declared limits in one short phrase, e.g. `memory: 8192 MiB, disk: not enforced, timeout: 10 min`.
 * Disk is always named: a provider without a disk bound (absent, or 0 because disk requests are
 * refused) does not enforce one, and "disk 0 MiB" would read as no space at all.
 */
export function describeLimits(limits: ProviderLimits): string {
  const parts: string[] = [];
  if (limits.maxCpu !== undefined) parts.push(`cpu: ${limits.maxCpu}`);
  if (limits.maxMemoryMb !== undefined) parts.push(`memory: ${limits.maxMemoryMb} MiB`);
  parts.push(`disk: ${limits.maxDiskMb ? `${limits.maxDiskMb} MiB` : "not enforced"}`);
  if (limits.gpuTypes.length > 0) {
    const count = limits.maxGpuCount === undefined ? "" : ` x${limits.maxGpuCount}`;
    parts.push(`gpu: ${limits.gpuTypes.join("/")}${count}`);
  }
  if (limits.maxTtlMs !== undefined) parts.push(`ttl: ${describeDuration(limits.maxTtlMs)}`);
  if (limits.maxCommandTimeoutMs !== undefined) {
    parts.push(`timeout: ${describeDuration(limits.maxCommandTimeoutMs)}`);
  }
  if (limits.maxConcurrency !== undefined) parts.push(`concurrency: ${limits.maxConcurrency}`);
  return parts.join(", ");
}

function describeDuration(milliseconds: number): string {
  const units: [number, string][] = [
    [86_400_000, "d"],
    [3_600_000, "h"],
    [60_000, "min"],
    [1000, "s"],
  ];
  for (const [size, unit] of units) {
    if (milliseconds >= size && milliseconds % size === 0) return `${milliseconds / size} ${unit}`;
  }
  return `${milliseconds} ms`;
}

/** The circuit as last recorded: closed unless a router saw failures. */
function describeCircuit(health: RecordedHealth | undefined): string {
  if (health === undefined) return "closed";
  const waiting =
    health.retryAfterUntil !== undefined && health.retryAfterUntil > Date.now() ? ", retry later" : "";
  return health.consecutiveFailures > 0
    ? `${health.circuit} (${health.consecutiveFailures} failing)${waiting}`
    : `${health.circuit}${waiting}`;
}
