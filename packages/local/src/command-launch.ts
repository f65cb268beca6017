/**
 * Turns "run this argv in that sandbox" into the host command line that builds fresh namespaces
 * around it: util-linux `unshare` plus a small setup script, or bubblewrap. Both produce the same
 * view: a read-only root made of the skeleton and /usr, a private size-capped /tmp, the workspace
 * as the only writable path, a private /proc, no network unless allowed, no capabilities, rlimits.
 */
import type { RootSkeleton } from "./root-skeleton.ts";
import { deviceFiles } from "./root-skeleton.ts";

/** Paths of the host programs a launch uses. */
export interface LaunchTools {
  kind: "unshare" | "bubblewrap";
  /** `unshare` or `bwrap`. */
  launcher: string;
  setpriv: string;
  prlimit: string;
  shell: string;
}

/** Per-process limits applied inside the sandbox. */
export interface LaunchLimits {
  processes: number;
  memoryMb: number;
  fileSizeMb: number;
  openFiles: number;
  cpuSeconds: number;
}

/** Everything that describes one sandbox's filesystem view. */
export interface SandboxMounts {
  skeleton: RootSkeleton;
  /** Empty host directory the new root is assembled on (unshare only). */
  rootMountPoint: string;
  /** Host directory bound read-write at /workspace. */
  workspace: string;
  /** Host Node binary bound at /sandport/bin/node, when it is not already under /usr. */
  nodeBinary: string | undefined;
  tmpSizeMb: number;
}

/** One command to launch. */
export interface LaunchRequest {
  tools: LaunchTools;
  mounts: SandboxMounts;
  limits: LaunchLimits;
  /** Keep the host network (egress "open"); otherwise a new, empty network namespace. */
  network: boolean;
  /** When the host process is root: the unprivileged uid/gid the sandbox runs as. */
  runAsUid: number | undefined;
  /** Absolute working directory inside the sandbox. */
  cwd: string;
  /** Path of the sandbox's fstab file (unshare only; see {@link unshareFstab}). */
  fstabPath: string;
  command: readonly string[];
}

/** The host command line. The launch writes on fd 3 once the sandbox is set up (see runProcess). */
export interface Launch {
  file: string;
  args: string[];
}

/**
 * Written on fd 3 by the unshare setup script when the working directory is missing; otherwise it
 * writes "r" (ready), and bubblewrap writes its `--info-fd` JSON there.
 */
export const missingDirectoryMarker = "c";

// Runs as root of the new user namespace, pid 1 of the new pid namespace. `mount -a -T` performs
// every mount in one process (fast); pivot_root + lazy unmount leaves nothing of the host's /.
const setupScript = [
  'mount -a -T "$1" || exit 125',
  'cd "$2" && pivot_root . oldroot && umount -l /oldroot || exit 125',
  'if cd -- "$3" 2>/dev/null; then printf r >&3; else printf c >&3; exit 125; fi',
  "exec 3>&-",
  "shift 3",
  'exec "$@"',
].join("\n");

/** Escapes a path for an fstab field, where whitespace separates fields. */
function escapeFstabField(path: string): string {
  return path.replace(/\\/g, "\\134").replace(/ /g, "\\040").replace(/\t/g, "\\011").replace(/\n/g, "\\012");
}

function mebibytes(value: number): number {
  return value * 1024 * 1024;
}

/** The fstab the unshare setup mounts from: skeleton as /, then system dirs, devices, /tmp, workspace, /proc. */
export function unshareFstab(mounts: SandboxMounts): string {
  const root = escapeFstabField(mounts.rootMountPoint);
  const lines = [
    `${escapeFstabField(mounts.skeleton.path)} ${root} none bind,ro 0 0`,
    `/usr ${root}/usr none rbind,ro 0 0`,
    ...mounts.skeleton.systemDirectories.map(
      (directory) => `${directory} ${root}${directory} none rbind,ro 0 0`,
    ),
    ...deviceFiles.map((device) => `/dev/${device} ${root}/dev/${device} none bind 0 0`),
    `sandport-shm ${root}/dev/shm tmpfs size=${mebibytes(mounts.tmpSizeMb)},mode=1777,nosuid,nodev 0 0`,
    `sandport-tmp ${root}/tmp tmpfs size=${mebibytes(mounts.tmpSizeMb)},mode=1777,nosuid,nodev 0 0`,
    `${escapeFstabField(mounts.workspace)} ${root}/workspace none bind,nosuid,nodev 0 0`,
    ...(mounts.nodeBinary === undefined
      ? []
      : [`${escapeFstabField(mounts.nodeBinary)} ${root}/sandport/bin/node none bind 0 0`]),
    `proc ${root}/proc proc nosuid,nodev,noexec 0 0`,
  ];
  return `${lines.join("\n")}\n`;
}

function limitArguments(tools: LaunchTools, limits: LaunchLimits): string[] {
  // The data limit is what bounds malloc/mmap heaps; RLIMIT_AS would break V8's large reservations.
  return [
    tools.prlimit,
    `--nproc=${limits.processes}`,
    `--data=${mebibytes(limits.memoryMb)}`,
    `--fsize=${mebibytes(limits.fileSizeMb)}`,
    `--nofile=${limits.openFiles}`,
    `--cpu=${limits.cpuSeconds}`,
    "--core=0",
    "--",
    tools.setpriv,
    "--no-new-privs",
    "--bounding-set=-all",
    "--inh-caps=-all",
    "--",
  ];
}

/** setpriv arguments that start a launch: drop to `runAsUid` (root only) and die with the host. */
export function dropToUser(runAsUid: number | undefined): string[] {
  // pdeathsig: if the host process dies, the launcher dies, and with it every sandboxed process.
  return runAsUid === undefined
    ? ["--pdeathsig=SIGKILL", "--"]
    : [`--reuid=${runAsUid}`, `--regid=${runAsUid}`, "--clear-groups", "--pdeathsig=SIGKILL", "--"];
}

/** Builds the host command line for one sandboxed command. */
export function buildLaunch(request: LaunchRequest): Launch {
  const { tools, mounts, limits } = request;
  const inner = [...limitArguments(tools, limits), ...request.command];
  if (tools.kind === "unshare") {
    const unshare = [
      tools.launcher,
      "--user",
      "--map-root-user",
      "--mount",
      "--pid",
      "--fork",
      "--kill-child=SIGKILL",
      "--ipc",
      "--uts",
      ...(request.network ? [] : ["--net"]),
      "--",
      tools.shell,
      "-c",
      setupScript,
      "sandport-setup",
      request.fstabPath,
      mounts.rootMountPoint,
      request.cwd,
    ];
    return { file: tools.setpriv, args: [...dropToUser(request.runAsUid), ...unshare, ...inner] };
  }
  const bubblewrap = [
    tools.launcher,
    "--die-with-parent",
    "--new-session",
    "--unshare-user",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    ...(request.network ? [] : ["--unshare-net"]),
    "--uid",
    "0",
    "--gid",
    "0",
    "--ro-bind",
    mounts.skeleton.path,
    "/",
    "--ro-bind",
    "/usr",
    "/usr",
    ...mounts.skeleton.systemDirectories.flatMap((directory) => ["--ro-bind", directory, directory]),
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--size",
    String(mebibytes(mounts.tmpSizeMb)),
    "--tmpfs",
    "/tmp",
    "--bind",
    mounts.workspace,
    "/workspace",
    ...(mounts.nodeBinary === undefined ? [] : ["--ro-bind", mounts.nodeBinary, "/sandport/bin/node"]),
    "--chdir",
    request.cwd,
    "--info-fd",
    "3",
    "--",
  ];
  return { file: tools.setpriv, args: [...dropToUser(request.runAsUid), ...bubblewrap, ...inner] };
}
