/** What every sandbox of one local provider shares, prepared once at first use. */
import { chmodSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { ConfigInvalidError, type ProviderCapabilities, ProviderUnavailableError } from "@sandport/core";
import type { ResolvedLocalSettings } from "./local-settings.ts";
import { ensureRootSkeleton, type RootSkeleton } from "./root-skeleton.ts";
import type { SandboxRecord } from "./sandbox-store.ts";
import { SandboxStore } from "./sandbox-store.ts";
import { installedCopy, packagedSupervisorPath } from "./supervisor-binary.ts";
import { isRoot } from "./system-tools.ts";

/** Per-sandbox cgroups, where the host has them (see sandbox-cgroup.ts). */
export interface SandboxCgroups {
  /** Creates the sandbox's cgroup with its limits; the supervisor's pid is added before setup. */
  create(record: SandboxRecord): Promise<{ addProcess(pid: number): Promise<void> }>;
  /** Kills whatever is left in the sandbox's cgroup and removes it. Idempotent. */
  remove(vendorId: string): Promise<void>;
}

/** Shared state of one provider instance running real sandboxes. */
export interface LocalEnvironment {
  settings: ResolvedLocalSettings;
  capabilities: ProviderCapabilities;
  store: SandboxStore;
  skeleton: RootSkeleton;
  /** Host path of the supervisor copy the sandbox uid runs. */
  supervisorBinary: string;
  /** Host directory holding a copy of the Node binary, mounted read-only at /sandport/bin. */
  nodeDirectory: string;
  /** An empty directory in the state directory (the second lower layer of read-only overlays). */
  emptyDirectory: string;
  /** The uid sandboxes run as when this process is root. */
  runAsUid: number | undefined;
  /** Per-sandbox cgroups, or undefined when limits fall back to rlimits per process. */
  cgroups: SandboxCgroups | undefined;
}

/** Shared state of a provider instance with `isolation: "none"` (development only). */
export interface UnisolatedEnvironment {
  settings: ResolvedLocalSettings;
  capabilities: ProviderCapabilities;
  store: SandboxStore;
  /** Directory of the host Node binary. */
  nodeDirectory: string;
}

/** The first directory above `path` that other users cannot search, or undefined when there is none. */
function firstUnsearchableAncestor(path: string): string | undefined {
  for (let current = dirname(path); current !== "/"; current = dirname(current)) {
    if ((statSync(current).mode & 0o001) === 0) return current;
  }
  return undefined;
}

/** Builds the state directory (reachable by the sandbox uid) and reaps expired sandboxes. */
async function prepareStateDirectory(settings: ResolvedLocalSettings, runAsUid: number | undefined) {
  mkdirSync(join(settings.stateDirectory, "sandboxes"), { recursive: true, mode: 0o711 });
  // The supervisor and Node copies under it are run by name: a directory someone else owns (one
  // prepared in a shared /tmp, say) could hold their own programs in those places.
  const owner = statSync(settings.stateDirectory).uid;
  if (owner !== process.getuid?.()) {
    throw new ConfigInvalidError(
      `stateDirectory ${settings.stateDirectory}: owned by uid ${owner}, not by this process; choose another stateDirectory`,
      { providerId: settings.providerId },
    );
  }
  mkdirSync(join(settings.stateDirectory, "empty"), { recursive: true, mode: 0o755 });
  const blocked = runAsUid === undefined ? undefined : firstUnsearchableAncestor(settings.stateDirectory);
  if (blocked !== undefined) {
    throw new ConfigInvalidError(
      `stateDirectory ${settings.stateDirectory}: sandboxes run as uid ${runAsUid} and cannot reach it, ` +
        `because ${blocked} is not searchable by other users (chmod o+x it, or choose another stateDirectory)`,
      { providerId: settings.providerId },
    );
  }
  // Sandboxes (another uid, as root) must be able to walk down to their workspace.
  chmodSync(settings.stateDirectory, 0o711);
  chmodSync(join(settings.stateDirectory, "sandboxes"), 0o711);
  const store = new SandboxStore(settings.stateDirectory);
  await store.reapExpired();
  return store;
}

/** Prepares unisolated sandboxes: a state directory only. */
export async function prepareUnisolatedEnvironment(
  settings: ResolvedLocalSettings,
  capabilities: ProviderCapabilities,
): Promise<UnisolatedEnvironment> {
  const store = await prepareStateDirectory(settings, undefined);
  return { settings, capabilities, store, nodeDirectory: dirname(process.execPath) };
}

/**
 * Builds the skeleton and the state directory. Whether this machine gives the supervisor its
 * namespaces is learnt from the first sandbox (see `explainSetupFailure`), not probed up front:
 * the probe would cost every cold start a process.
 */
export async function prepareEnvironment(
  settings: ResolvedLocalSettings,
  capabilities: ProviderCapabilities,
  cgroups: SandboxCgroups | undefined,
): Promise<LocalEnvironment> {
  const runAsUid = isRoot() ? settings.sandboxUid : undefined;
  const store = await prepareStateDirectory(settings, runAsUid);
  const packaged = packagedSupervisorPath();
  if (packaged === undefined) {
    throw new ProviderUnavailableError(
      `local sandboxes cannot start: no sandbox supervisor is shipped for ${process.platform}-${process.arch} (linux x64 and arm64 are)`,
      { providerId: settings.providerId, isRetryable: false },
    );
  }
  return {
    settings,
    capabilities,
    store,
    skeleton: ensureRootSkeleton(settings.stateDirectory),
    supervisorBinary: installedCopy(settings.stateDirectory, packaged, "sandport-supervisor"),
    // Named by version and size rather than a digest: hashing ~100 MB at every start is too slow.
    nodeDirectory: dirname(
      installedCopy(
        settings.stateDirectory,
        process.execPath,
        "node-directory",
        `${process.version}-${statSync(process.execPath).size}`,
        "node",
      ),
    ),
    emptyDirectory: join(settings.stateDirectory, "empty"),
    runAsUid,
    cgroups,
  };
}
