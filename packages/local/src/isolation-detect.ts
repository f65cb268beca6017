/** Finds out whether the local backend can isolate sandboxes on this machine, and why not when it can't. */
import { type LocalProviderSettings, resolveLocalSettings } from "./local-settings.ts";
import { detectCgroupSupport } from "./sandbox-cgroup.ts";
import { installedCopy, packagedSupervisorPath, probeSupervisor } from "./supervisor-binary.ts";
import { findExecutable, isRoot } from "./system-tools.ts";

/** The isolation mechanism and whether it works here. */
export interface IsolationTool {
  name: "supervisor";
  /** Host path of the packaged supervisor binary. */
  path: string | undefined;
  usable: boolean;
  /** Why it is not usable (or absent when it is). */
  reason?: string;
}

/** What `sandport doctor` reports. */
export interface IsolationReport {
  /** What sandboxes will use, or undefined when nothing works. */
  selected: "supervisor" | "none" | undefined;
  tools: IsolationTool[];
  runningAsRoot: boolean;
  /** The host uid sandboxed processes run as. */
  sandboxUid: number;
  /** Interpreters found for each runtime (paths as seen inside the sandbox). */
  runtimes: { shell?: string; python?: string; javascript?: string };
  /** Whether memory, process and CPU limits hold per sandbox (a cgroup) or only per process (rlimits). */
  limits: { scope: "sandbox" | "process"; cgroupVersion?: 1 | 2; reason?: string; fix?: string };
  /** Why no isolation is available and how to fix it. */
  problem?: string;
}

const fixHint =
  "Fix: allow unprivileged user namespaces (sysctl user.max_user_namespaces > 0, and kernel.unprivileged_userns_clone=1 " +
  "where that sysctl exists; on Ubuntu 23.10+ also kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile " +
  'allowing userns for the supervisor binary). For development only, "isolation": "none" runs commands unisolated.';

/** Interpreters visible inside a sandbox (only /usr is shared with it; Node is the host's own binary). */
export function findRuntimes(): IsolationReport["runtimes"] {
  const python = findExecutable("python3", "/usr/local/bin:/usr/bin");
  return {
    shell: "/bin/sh",
    ...(python === undefined ? {} : { python }),
    javascript: "/sandport/bin/node",
  };
}

function checkSupervisor(sandboxUid: number, stateDirectory: string): IsolationTool {
  const path = packagedSupervisorPath();
  if (path === undefined) {
    return {
      name: "supervisor",
      path,
      usable: false,
      reason: `no sandbox supervisor is shipped for ${process.platform}-${process.arch} (linux x64 and arm64 are)`,
    };
  }
  // As root the probe runs as the sandbox uid, from the copy sandboxes use (the package itself
  // may sit where that uid cannot reach).
  const runnable = isRoot() ? installedCopy(stateDirectory, path, "sandport-supervisor") : path;
  const reason = probeSupervisor(runnable, isRoot() ? sandboxUid : undefined);
  return reason === undefined
    ? { name: "supervisor", path, usable: true }
    : { name: "supervisor", path, usable: false, reason };
}

/** Probes the machine: starts the supervisor's namespace probe once; takes a few milliseconds. */
export async function detectIsolation(settings: LocalProviderSettings = {}): Promise<IsolationReport> {
  const resolved = resolveLocalSettings(settings);
  const runningAsRoot = isRoot();
  const sandboxUid = runningAsRoot ? resolved.sandboxUid : (process.getuid?.() ?? 0);
  const tools =
    resolved.isolation === "none" ? [] : [checkSupervisor(resolved.sandboxUid, resolved.stateDirectory)];
  const usable = tools.some((tool) => tool.usable);
  const selected = resolved.isolation === "none" ? "none" : usable ? "supervisor" : undefined;
  const problem =
    selected === undefined
      ? `no usable namespace isolation (${tools.map((tool) => `${tool.name}: ${tool.reason ?? "not usable"}`).join("; ")}). ${fixHint}`
      : undefined;
  const cgroups = detectCgroupSupport();
  const limits: IsolationReport["limits"] =
    selected === "supervisor" && cgroups.version !== undefined
      ? { scope: "sandbox", cgroupVersion: cgroups.version }
      : {
          scope: "process",
          ...(cgroups.version === undefined ? { reason: cgroups.reason, fix: cgroups.fix } : {}),
        };
  return {
    selected,
    tools,
    runningAsRoot,
    sandboxUid,
    runtimes: findRuntimes(),
    limits,
    ...(problem === undefined ? {} : { problem }),
  };
}
