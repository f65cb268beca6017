/** Finding the host programs the local backend needs. */
import { accessSync, constants } from "node:fs";
import { join } from "node:path";

// System directories are searched even when the caller's PATH lacks them (sbin is often missing).
const systemDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** Absolute path of an executable named `name`, or undefined. */
export function findExecutable(
  name: string,
  searchPath: string | undefined = process.env.PATH,
): string | undefined {
  const directories = [
    ...(searchPath ?? "").split(":").filter((entry) => entry.startsWith("/")),
    ...systemDirectories,
  ];
  for (const directory of directories) {
    const candidate = join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** Whether this process runs as root (uid 0). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
