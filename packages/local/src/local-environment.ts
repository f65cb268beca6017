/** What every sandbox of one local provider shares, prepared once at first use. */
import {
  accessSync,
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  statSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { ConfigInvalidError, type ProviderCapabilities, ProviderUnavailableError } from "@sandport/core";
import type { LaunchTools } from "./command-launch.ts";
import { detectIsolation, launchToolsFor } from "./isolation-detect.ts";
import type { ResolvedLocalSettings } from "./local-settings.ts";
import { ensureRootSkeleton, type RootSkeleton } from "./root-skeleton.ts";
import { SandboxStore } from "./sandbox-store.ts";
import { findExecutable, isRoot } from "./system-tools.ts";

/** Shared state of one provider instance. */
export interface LocalEnvironment {
  settings: ResolvedLocalSettings;
  capabilities: ProviderCapabilities;
  store: SandboxStore;
  /** Launch tools; undefined when isolation is "none". */
  tools: LaunchTools | undefined;
  skeleton: RootSkeleton | undefined;
  /** Host path of the Node binary bound at /sandport/bin/node. */
  nodeBinary: string | undefined;
  /** Directory of the host Node binary (for unisolated runs). */
  nodeDirectory: string;
  /** The uid sandboxes run as when this process is root. */
  runAsUid: number | undefined;
  taskset: string | undefined;
}

/** The first directory above `path` that other users cannot search, or undefined when there is none. */
function firstUnsearchableAncestor(path: string): string | undefined {
  for (let current = dirname(path); current !== "/"; current = dirname(current)) {
    if ((statSync(current).mode & 0o001) === 0) return current;
  }
  return undefined;
}

/** True when any user can reach and read-execute the file at `path`. */
function worldReachable(path: string): boolean {
  return (statSync(path).mode & 0o005) === 0o005 && firstUnsearchableAncestor(path) === undefined;
}

/**
 * The Node binary the sandbox runs: the host's own. As root, the unprivileged sandbox user may be
 * unable to reach it (e.g. under /root), so it is linked (or copied) into the state directory.
 */
export function prepareNodeBinary(stateDirectory: string, runAsUid: number | undefined): string {
  const source = process.execPath;
  if (runAsUid === undefined || worldReachable(source)) return source;
  const target = join(stateDirectory, "runtime", `node-${process.version}`);
  if (!existsSync(target)) {
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    chmodSync(dirname(target), 0o755);
    const temporary = `${target}.${process.pid}`;
    try {
      linkSync(source, temporary);
    } catch {
      copyFileSync(source, temporary);
    }
    chmodSync(temporary, 0o755);
    try {
      accessSync(target, constants.F_OK);
    } catch {
      linkSync(temporary, target);
    }
  }
  return target;
}

/** Detects isolation, builds the skeleton and state directories, and reaps expired sandboxes. */
export async function prepareEnvironment(
  settings: ResolvedLocalSettings,
  capabilities: ProviderCapabilities,
): Promise<LocalEnvironment> {
  const runAsUid = isRoot() ? settings.sandboxUid : undefined;
  mkdirSync(join(settings.stateDirectory, "sandboxes"), { recursive: true, mode: 0o711 });
  const blocked = runAsUid === undefined ? undefined : firstUnsearchableAncestor(settings.stateDirectory);
  if (blocked !== undefined) {
    throw new ConfigInvalidError(
      `stateDirectory ${settings.stateDirectory}: sandboxes run as uid ${runAsUid} and cannot reach it, ` +
        `because ${blocked} is not searchable by other users (chmod o+x it, or choose another stateDirectory)`,
      { providerId: settings.providerId },
    );
  }
  // Sandboxed processes (another uid, as root) must be able to walk down to their workspace.
  chmodSync(settings.stateDirectory, 0o711);
  chmodSync(join(settings.stateDirectory, "sandboxes"), 0o711);
  let tools: LaunchTools | undefined;
  let skeleton: RootSkeleton | undefined;
  if (settings.isolation !== "none") {
    const report = await detectIsolation(settings);
    const selected = report.selected;
    tools = selected === undefined || selected === "none" ? undefined : launchToolsFor(selected);
    if (tools === undefined) {
      throw new ProviderUnavailableError(
        `local sandboxes cannot start: ${report.problem ?? "isolation tools are missing"}`,
        {
          providerId: settings.providerId,
          isRetryable: false,
        },
      );
    }
    skeleton = ensureRootSkeleton(settings.stateDirectory);
  }
  const store = new SandboxStore(settings.stateDirectory);
  await store.reapExpired();
  return {
    settings,
    capabilities,
    store,
    tools,
    skeleton,
    nodeBinary: tools === undefined ? undefined : prepareNodeBinary(settings.stateDirectory, runAsUid),
    nodeDirectory: dirname(process.execPath),
    runAsUid,
    taskset: findExecutable("taskset"),
  };
}
