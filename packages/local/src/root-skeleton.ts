/**
 * The read-only skeleton that becomes a sandbox's `/`: empty mount points, the few `/etc` files
 * programs need (copied, so nothing else of the host's /etc is visible) and the merged-/usr
 * symlinks. Built once per state directory and shared by every sandbox.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";

/** Top-level host paths that are either merged-/usr symlinks (replicated) or directories (bound read-only). */
const systemTopLevel = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/** Host /etc entries copied into the skeleton. Nothing holding secrets: no shadow, no ssh, no sudoers. */
const etcFiles = [
  "passwd",
  "group",
  "hosts",
  "nsswitch.conf",
  "resolv.conf",
  "ld.so.cache",
  "ld.so.conf",
  "localtime",
  "os-release",
  "ssl/certs/ca-certificates.crt",
];

/** Device files bound from the host. */
export const deviceFiles = ["null", "zero", "full", "random", "urandom"];

/** Where the skeleton is and which host directories need a read-only bind. */
export interface RootSkeleton {
  path: string;
  /** Host directories (besides /usr) bound read-only at the same path, on non-merged-/usr systems. */
  systemDirectories: string[];
}

const version = "4";

/** Returns the skeleton under `stateDirectory`, building it on first use. */
export function ensureRootSkeleton(stateDirectory: string): RootSkeleton {
  const path = join(stateDirectory, `root-skeleton-v${version}`);
  const systemDirectories = systemTopLevel.filter((name) => {
    try {
      return lstatSync(`/${name}`).isDirectory();
    } catch {
      return false;
    }
  });
  if (existsSync(join(path, ".complete")))
    return { path, systemDirectories: systemDirectories.map((name) => `/${name}`) };

  // Build beside the final place and rename, so concurrent processes never see half a skeleton.
  const building = `${path}.${process.pid}.${Date.now()}`;
  mkdirSync(building, { recursive: true, mode: 0o755 });
  for (const directory of [
    "usr",
    "etc",
    "proc",
    "dev",
    "dev/shm",
    "tmp",
    "workspace",
    "oldroot",
    "sandport/bin",
  ]) {
    mkdirSync(join(building, directory), { recursive: true, mode: 0o755 });
  }
  for (const name of systemTopLevel) {
    let stats: ReturnType<typeof lstatSync>;
    try {
      stats = lstatSync(`/${name}`);
    } catch {
      continue;
    }
    if (stats.isSymbolicLink()) symlinkSync(readlinkSync(`/${name}`), join(building, name));
    else if (stats.isDirectory()) mkdirSync(join(building, name), { mode: 0o755 });
  }
  for (const file of etcFiles) {
    const source = join("/etc", file);
    if (!existsSync(source)) continue;
    const target = join(building, "etc", file);
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    copyFileSync(source, target);
    chmodSync(target, 0o644);
  }
  // Debian's /usr/bin/awk and friends go through /etc/alternatives: keep those links.
  if (existsSync("/etc/alternatives")) {
    mkdirSync(join(building, "etc/alternatives"), { mode: 0o755 });
    for (const entry of readdirSync("/etc/alternatives")) {
      try {
        symlinkSync(
          readlinkSync(join("/etc/alternatives", entry)),
          join(building, "etc/alternatives", entry),
        );
      } catch {
        // not a link (a README): skip
      }
    }
  }
  for (const device of deviceFiles) writeFileSync(join(building, "dev", device), "", { mode: 0o644 });
  symlinkSync("/proc/self/fd", join(building, "dev/fd"));
  symlinkSync("/proc/self/fd/0", join(building, "dev/stdin"));
  symlinkSync("/proc/self/fd/1", join(building, "dev/stdout"));
  symlinkSync("/proc/self/fd/2", join(building, "dev/stderr"));
  writeFileSync(join(building, ".complete"), "");
  try {
    renameSync(building, path);
  } catch {
    // Another process won the race; its skeleton is just as good.
    rmSync(building, { recursive: true, force: true });
  }
  return { path, systemDirectories: systemDirectories.map((name) => `/${name}`) };
}
