/**
 * Class 7: what the sandbox can learn about the host, and the one host file it gets to execute.
 * Nothing under /proc inside (init's and its own environ, cmdline, mountinfo, cgroup, cwd and
 * root links) may name the state directory, the checkout, the Node binary's host path, the host
 * user's home or name, the host's OLDPWD or any host environment value; and the Node binary the
 * sandbox runs cannot be changed from inside: the host's copy keeps its mode and content.
 */
import { chmodSync, readFileSync, realpathSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import { createLocalProvider, type LocalSandbox } from "@sandport/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  removePaths,
  sha256OfFile,
  temporaryDirectory,
  uniqueName,
  withDeadline,
} from "./containment-support.ts";

const stateDirectory = temporaryDirectory("sandport-host-facts");
const hostVariable = `SANDPORT_HOST_FACT_${uniqueName("name").replace(/-/g, "_").toUpperCase()}`;
const hostValue = uniqueName("sandport-host-fact-value");
const hostOldPwd = `/tmp/${uniqueName("sandport-host-oldpwd")}`;
const savedOldPwd = process.env.OLDPWD;
let sandbox: LocalSandbox | undefined;

beforeAll(async () => {
  // Set before the provider starts anything, so whatever it spawns inherits them.
  process.env[hostVariable] = hostValue;
  process.env.OLDPWD = hostOldPwd;
  const provider = createLocalProvider({ stateDirectory });
  sandbox = await withDeadline(provider.create({}), 30_000, "create");
}, 60_000);

afterAll(async () => {
  await sandbox?.destroy().catch(() => {});
  delete process.env[hostVariable];
  if (savedOldPwd === undefined) delete process.env.OLDPWD;
  else process.env.OLDPWD = savedOldPwd;
  removePaths(stateDirectory);
});

/** Host cgroup paths of this process (other than the root), as /proc/self/cgroup names them. */
function hostCgroupPaths(): string[] {
  try {
    return readFileSync("/proc/self/cgroup", "utf8")
      .split("\n")
      .map((line) => line.split(":").slice(2).join(":"))
      .filter((path) => path !== "" && path !== "/");
  } catch {
    return [];
  }
}

/** Host facts that must not appear inside, by name. */
function hostNeedles(): Map<string, string> {
  const needles = new Map<string, string>();
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined && value !== "" && value !== "/") needles.set(name, value);
  };
  add("state directory", stateDirectory);
  add("state directory (real path)", realpathSync(stateDirectory));
  add("checkout", process.cwd());
  add("node binary", process.execPath);
  add("node binary (real path)", realpathSync(process.execPath));
  add("HOME", process.env.HOME);
  add("user's home", userInfo().homedir);
  add("OLDPWD", hostOldPwd);
  add("host env name", hostVariable);
  add("host env value", hostValue);
  for (const [index, path] of hostCgroupPaths().entries()) add(`host cgroup ${index}`, path);
  const user = userInfo().username;
  add("USER", `USER=${user}`);
  add("LOGNAME", `LOGNAME=${user}`);
  return needles;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Headers of the sections of `dump` (split at "== name" headers) whose bodies hold `needle` as a whole path or word. */
function sectionsContaining(dump: string, needle: string): string[] {
  const pattern = new RegExp(`${escapeRegExp(needle)}(?=$|[/\\s\\0:'",=])`, "m");
  return dump
    .split(/^== /m)
    .filter((section) => pattern.test(section.slice(section.indexOf("\n") + 1)))
    .map((section) => section.split("\n")[0] ?? "");
}

// Dumps every /proc fact of every process the sandbox can see, each under a "== name" header.
const dumpProcFacts = `
for p in /proc/[0-9]* /proc/self /proc/thread-self; do
  for f in cmdline environ cgroup mountinfo mounts; do
    echo "== $p/$f"
    tr '\\0' '\\n' < $p/$f 2>&1
  done
  for l in cwd root exe; do
    echo "== $p/$l"
    readlink $p/$l 2>&1
  done
done
echo "== env"
env
echo "== /proc/1/status"
cat /proc/1/status
`;

describe("host facts inside the sandbox", () => {
  it("no /proc file and no environment inside names a host path, user or env value", async () => {
    const result = await withDeadline(
      (sandbox as LocalSandbox).exec({ shell: dumpProcFacts }, { maxOutputBytes: 16 * 1024 * 1024 }),
      30_000,
      "dump /proc",
    );
    expect(result.exitCode).toBe(0);
    // The dump is real: it reached init's and its own files.
    expect(result.stdout).toContain("== /proc/1/mountinfo");
    expect(result.stdout).toContain("/workspace");
    const leaks: string[] = [];
    for (const [name, needle] of hostNeedles()) {
      const sections = sectionsContaining(result.stdout, needle);
      if (sections.length > 0)
        leaks.push(`${name} (${needle}) in ${[...new Set(sections)].slice(0, 8).join(", ")}`);
    }
    expect(leaks, "host facts visible inside the sandbox").toEqual([]);
  }, 60_000);
});

describe("the Node binary inside the sandbox", () => {
  const hostBinary = realpathSync(process.execPath);
  const before = { mode: statSync(hostBinary).mode, hash: sha256OfFile(hostBinary) };

  afterAll(() => {
    // Undo a successful chmod, so a failing run leaves the host as it was.
    if (statSync(hostBinary).mode !== before.mode) chmodSync(hostBinary, before.mode & 0o7777);
  });

  it("cannot be chmodded, written, truncated or replaced, and the host's stays as it was", async () => {
    // Each attempt leaves the content as it is even where it is allowed (same byte, same size),
    // so a vulnerable run cannot break the host's Node; each prints its exit status.
    const script = `
n=$(command -v node)
echo "path=$n"
size=$(stat -c %s "$n")
try() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "$name=allowed"; else echo "$name=refused"; fi; }
try chmod chmod 777 "$n"
try chmod-setuid chmod u+s "$n"
try append sh -c 'printf "" >> "$1"' sh "$n"
try truncate truncate -s "$size" "$n"
try overwrite dd if="$n" of="$n" bs=1 count=1 conv=notrunc
try open-rw node -e 'require("node:fs").closeSync(require("node:fs").openSync(process.execPath, "r+"))'
try chmod-node node -e 'require("node:fs").chmodSync(process.execPath, 0o777)'
try utime touch -c "$n"
echo "hash=$(sha256sum "$n" | cut -d' ' -f1)"
`;
    let result: Awaited<ReturnType<LocalSandbox["exec"]>>;
    try {
      result = await withDeadline((sandbox as LocalSandbox).exec({ shell: script }), 60_000, "modify node");
    } finally {
      if (statSync(hostBinary).mode !== before.mode) chmodSync(hostBinary, before.mode & 0o7777);
    }
    const lines = new Map(
      result.stdout
        .split("\n")
        .filter((line) => line.includes("="))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)] as const),
    );
    expect(lines.get("path"), result.stderr).toMatch(/node$/);
    const allowed = [...lines].filter(([, value]) => value === "allowed").map(([name]) => name);
    expect(allowed, "changes to the Node binary the sandbox runs").toEqual([]);
    // It is the host's binary, unchanged; and so is the host's file.
    expect(lines.get("hash")).toBe(before.hash);
    expect(statSync(hostBinary).mode).toBe(before.mode);
    expect(sha256OfFile(hostBinary)).toBe(before.hash);
  }, 90_000);
});
