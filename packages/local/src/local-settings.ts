/** Settings of the local provider, with their defaults. */
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as z from "zod";

/**
 * How sandboxes are isolated. `auto` and `supervisor` both use the packaged sandbox supervisor
 * (namespaces, seccomp, cgroups where available); `none` runs commands unisolated.
 */
export type IsolationChoice = "auto" | "supervisor" | "none";

/** Settings of {@link createLocalProvider}. All optional. */
export interface LocalProviderSettings {
  /** Instance name; prefixes sandbox ids. Default `"local"`. */
  providerId?: string;
  /**
   * Isolation tool. Default `"auto"`. `"none"` runs commands unisolated on the host, for
   * development only; capabilities then declare `isolation: "none"`.
   */
  isolation?: IsolationChoice;
  /** Allow `network.egress: "open"` requests. Default false: sandboxes get no network at all. */
  allowNetwork?: boolean;
  /** Where workspaces and state live. Default `$TMPDIR/sandport-local-<uid>`. */
  stateDirectory?: string;
  /** When running as root, the unprivileged uid (and gid) sandboxes run as. Default 65534 (nobody). */
  sandboxUid?: number;
  /**
   * Default memory limit, MiB: for the whole sandbox where it has a cgroup (including /tmp and shared
   * memory), else per process (data segment). Default 1024.
   */
  memoryMb?: number;
  /** Maximum memory a request may ask for, MiB. Default 8192. */
  maxMemoryMb?: number;
  /** Maximum processes per sandbox (per process, as RLIMIT_NPROC, where there is no cgroup). Default 256. */
  processes?: number;
  /** Size of the sandbox's `/tmp` (and `/dev/shm`), MiB; counted in its memory where it has a cgroup. Default 64. */
  tmpSizeMb?: number;
  /** Largest file a command may write, MiB. Default 1024. */
  fileSizeMb?: number;
  /** Open files per process. Default 1024. */
  openFiles?: number;
  /** CPU seconds per command. Default 600. */
  cpuSeconds?: number;
}

/** Strict schema of the settings as they appear in `sandport.json` (without `type`). */
export const localSettingsSchema = z.strictObject({
  isolation: z.enum(["auto", "supervisor", "none"]).optional(),
  allowNetwork: z.boolean().optional(),
  stateDirectory: z.string().min(1).optional(),
  sandboxUid: z.number().int().positive().optional(),
  memoryMb: z.number().int().min(16).optional(),
  maxMemoryMb: z.number().int().min(16).optional(),
  processes: z.number().int().min(1).optional(),
  tmpSizeMb: z.number().int().min(1).optional(),
  fileSizeMb: z.number().int().min(1).optional(),
  openFiles: z.number().int().min(16).optional(),
  cpuSeconds: z.number().int().min(1).optional(),
});

/** Settings with every default filled in. */
export type ResolvedLocalSettings = Required<Omit<LocalProviderSettings, "providerId">> & {
  providerId: string;
};

/** Fills in defaults. */
export function resolveLocalSettings(settings: LocalProviderSettings = {}): ResolvedLocalSettings {
  const uid = process.getuid?.() ?? 0;
  return {
    providerId: settings.providerId ?? "local",
    isolation: settings.isolation ?? "auto",
    allowNetwork: settings.allowNetwork ?? false,
    stateDirectory: settings.stateDirectory ?? join(tmpdir(), `sandport-local-${uid}`),
    sandboxUid: settings.sandboxUid ?? 65534,
    memoryMb: settings.memoryMb ?? 1024,
    maxMemoryMb: settings.maxMemoryMb ?? 8192,
    processes: settings.processes ?? 256,
    tmpSizeMb: settings.tmpSizeMb ?? 64,
    fileSizeMb: settings.fileSizeMb ?? 1024,
    openFiles: settings.openFiles ?? 1024,
    cpuSeconds: settings.cpuSeconds ?? 600,
  };
}
