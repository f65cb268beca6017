/** Finds out which isolation the local backend can use on this machine, and why not when it can't. */
import { spawnSync } from "node:child_process";
import { dropToUser, type LaunchTools } from "./command-launch.ts";
import { type LocalProviderSettings, resolveLocalSettings } from "./local-settings.ts";
import { findExecutable, isRoot } from "./system-tools.ts";

/** One isolation tool and whether it works here. */
export interface IsolationTool {
  name: "bubblewrap" | "unshare";
  path: string | undefined;
  usable: boolean;
  /** Why it is not usable (or empty when it is). */
  reason?: string;
}

/** What `sandport doctor` reports. */
export interface IsolationReport {
  /** The tool sandboxes will use, or undefined when none works. */
  selected: "bubblewrap" | "unshare" | "none" | undefined;
  tools: IsolationTool[];
  runningAsRoot: boolean;
  /** The host uid sandboxed processes run as. */
  sandboxUid: number;
  /** Interpreters found for each runtime (paths as seen inside the sandbox). */
  runtimes: { shell?: string; python?: string; javascript?: string };
  /** Why no isolation is available and how to fix it. */
  problem?: string;
}

const fixHint =
  "Fix: allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0; " +
  "on Ubuntu 24.04+ also kernel.apparmor_restrict_unprivileged_userns=0), or install bubblewrap (apt-get install bubblewrap). " +
  'For development only, "isolation": "none" runs commands unisolated.';

function probe(file: string, args: string[]): string | undefined {
  const result = spawnSync(file, args, {
    encoding: "utf8",
    timeout: 10_000,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
  });
  if (result.error !== undefined) return result.error.message;
  if (result.status === 0) return undefined;
  return (result.stderr || `exit status ${result.status}`).trim().split("\n")[0];
}

function checkUnshare(sandboxUid: number): IsolationTool {
  const path = findExecutable("unshare");
  const missing = ["setpriv", "prlimit", "mount", "umount", "pivot_root"].filter(
    (name) => findExecutable(name) === undefined,
  );
  const setpriv = findExecutable("setpriv");
  if (path === undefined || setpriv === undefined || missing.length > 0) {
    const absent = [...(path === undefined ? ["unshare"] : []), ...missing];
    return {
      name: "unshare",
      path,
      usable: false,
      reason: `util-linux programs not found: ${absent.join(", ")}`,
    };
  }
  const reason = probe(setpriv, [
    ...dropToUser(isRoot() ? sandboxUid : undefined),
    path,
    "--user",
    "--map-root-user",
    "--mount",
    "--pid",
    "--fork",
    "--net",
    "--ipc",
    "--uts",
    "true",
  ]);
  return reason === undefined
    ? { name: "unshare", path, usable: true }
    : { name: "unshare", path, usable: false, reason };
}

function checkBubblewrap(sandboxUid: number): IsolationTool {
  const path = findExecutable("bwrap");
  const setpriv = findExecutable("setpriv");
  if (path === undefined)
    return { name: "bubblewrap", path, usable: false, reason: "bwrap is not installed" };
  if (setpriv === undefined)
    return { name: "bubblewrap", path, usable: false, reason: "setpriv (util-linux) not found" };
  const reason = probe(setpriv, [
    ...dropToUser(isRoot() ? sandboxUid : undefined),
    path,
    "--unshare-all",
    "--ro-bind",
    "/",
    "/",
    "--proc",
    "/proc",
    "--",
    "true",
  ]);
  return reason === undefined
    ? { name: "bubblewrap", path, usable: true }
    : { name: "bubblewrap", path, usable: false, reason };
}

/** Paths of the programs a launch needs, for the selected tool. */
export function launchToolsFor(kind: "bubblewrap" | "unshare"): LaunchTools | undefined {
  const launcher = findExecutable(kind === "bubblewrap" ? "bwrap" : "unshare");
  const setpriv = findExecutable("setpriv");
  const prlimit = findExecutable("prlimit");
  const shell = findExecutable("sh", "/usr/bin:/bin");
  if (launcher === undefined || setpriv === undefined || prlimit === undefined || shell === undefined)
    return undefined;
  return { kind, launcher, setpriv, prlimit, shell };
}

/** Interpreters visible inside a sandbox (only /usr is shared with it; Node is the host's own binary). */
export function findRuntimes(): IsolationReport["runtimes"] {
  const python = findExecutable("python3", "/usr/local/bin:/usr/bin");
  return {
    shell: "/bin/sh",
    ...(python === undefined ? {} : { python }),
    javascript: "/sandport/bin/node",
  };
}

/** Probes the machine. Runs two tiny sandboxes; takes tens of milliseconds. */
export async function detectIsolation(settings: LocalProviderSettings = {}): Promise<IsolationReport> {
  const resolved = resolveLocalSettings(settings);
  const runningAsRoot = isRoot();
  const sandboxUid = runningAsRoot ? resolved.sandboxUid : (process.getuid?.() ?? 0);
  const tools = [checkBubblewrap(resolved.sandboxUid), checkUnshare(resolved.sandboxUid)];
  const usable = (name: IsolationTool["name"]) => tools.find((tool) => tool.name === name)?.usable === true;
  let selected: IsolationReport["selected"];
  let problem: string | undefined;
  switch (resolved.isolation) {
    case "none":
      selected = "none";
      break;
    case "auto":
      selected = usable("bubblewrap") ? "bubblewrap" : usable("unshare") ? "unshare" : undefined;
      break;
    default:
      selected = usable(resolved.isolation) ? resolved.isolation : undefined;
  }
  if (selected === undefined) {
    const reasons = tools
      .filter((tool) => resolved.isolation === "auto" || tool.name === resolved.isolation)
      .map((tool) => `${tool.name}: ${tool.reason ?? "not usable"}`)
      .join("; ");
    problem = `no usable namespace isolation (${reasons}). ${fixHint}`;
  }
  return {
    selected,
    tools,
    runningAsRoot,
    sandboxUid,
    runtimes: findRuntimes(),
    ...(problem === undefined ? {} : { problem }),
  };
}
