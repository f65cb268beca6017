/**
 * The sandbox supervisor shipped in this package (`native/bin/linux-<arch>/sandport-supervisor`,
 * built from `native/src` by `native/build.sh`), and a copy of it that the sandbox uid can run.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const platforms: Record<string, string> = { x64: "linux-x64", arm64: "linux-arm64" };

/** Host path of the packaged supervisor for this machine, or undefined on an unsupported platform. */
export function packagedSupervisorPath(): string | undefined {
  const platform = platforms[process.arch];
  if (process.platform !== "linux" || platform === undefined) return undefined;
  // src/ and dist/ both sit one level below the package root.
  const path = fileURLToPath(new URL(`../native/bin/${platform}/sandport-supervisor`, import.meta.url));
  return existsSync(path) ? path : undefined;
}

/**
 * A copy of `source` under `stateDirectory/runtime`, named by its content, mode 0755: the sandbox
 * uid can run it even when the package sits under a directory it cannot search, and nothing the
 * sandbox sees names the checkout. `identity` defaults to a digest of the content; with
 * `fileName`, the copy is that file in a directory named by the identity.
 */
export function installedCopy(
  stateDirectory: string,
  source: string,
  name: string,
  identity: string = createHash("sha256").update(readFileSync(source)).digest("hex").slice(0, 16),
  fileName?: string,
): string {
  const target =
    fileName === undefined
      ? join(stateDirectory, "runtime", `${name}-${identity}`)
      : join(stateDirectory, "runtime", `${name}-${identity}`, fileName);
  if (existsSync(target)) return target;
  mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
  chmodSync(join(stateDirectory, "runtime"), 0o755);
  chmodSync(dirname(target), 0o755);
  const temporary = `${target}.${process.pid}`;
  copyFileSync(source, temporary);
  chmodSync(temporary, 0o755);
  try {
    renameSync(temporary, target);
  } catch {
    rmSync(temporary, { force: true });
  }
  return target;
}

/** Runs the supervisor's `--probe` as `runAsUid`: undefined when namespaces work, else why not. */
export function probeSupervisor(binary: string, runAsUid: number | undefined): string | undefined {
  const result = spawnSync(binary, ["--probe"], {
    encoding: "utf8",
    timeout: 10_000,
    env: {},
    ...(runAsUid === undefined ? {} : { uid: runAsUid, gid: runAsUid }),
  });
  if (result.error !== undefined) return `cannot run the sandbox supervisor: ${result.error.message}`;
  const said = result.stdout.trim();
  return result.status === 0 && said === "ok" ? undefined : said || `the probe exited with ${result.status}`;
}
