/** Turns normalized sandport requests into what the sandbox bridge's routes take. */
import {
  type Command,
  type CreateSandboxRequest,
  InvalidRequestError,
  type ProviderCapabilities,
  UnsupportedCapabilityError,
  unsupportedReasons,
  workspaceMountPath,
  workspaceRelativePath,
} from "@sandport/core";

/** The container's working area; the sandbox bridge confines files and `cwd` to it. */
export const workspaceRoot = workspaceMountPath;

/** Resolves `.` and `..` like POSIX does for an absolute path (`/..` stays `/`). */
function normalizeAbsolute(path: string): string {
  const parts: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") parts.pop();
    else parts.push(segment);
  }
  return `/${parts.join("/")}`;
}

function isInsideWorkspace(absolute: string): boolean {
  return absolute === workspaceRoot || absolute.startsWith(`${workspaceRoot}/`);
}

/**
 * A sandbox path (relative to /workspace, or absolute) as a normalized absolute path inside
 * /workspace. Checked here, because `fetch` would itself resolve `..` in the URL and send the
 * request to another route.
 */
export function resolveWorkspacePath(path: string, providerId: string): string {
  try {
    return `${workspaceRoot}/${workspaceRelativePath(path)}`;
  } catch (error) {
    if (!InvalidRequestError.isInstance(error)) throw error;
    throw new InvalidRequestError(error.message, { providerId });
  }
}

// Characters the sandbox bridge's router leaves percent-encoded when it decodes the path (it uses decodeURI
// and keeps %25), so a name holding them would reach another file. Refused instead.
const unaddressable = /[%#?]/;
// Sub-delimiters that may stand unencoded in a URL path, and must: decodeURI would not decode them.
const pathSafe = /%(3A|40|26|3D|2B|24|2C|3B)/gi;

/** The `{path}` of `/v1/sandbox/{id}/file/{path}` for an absolute workspace path: `workspace/a/b.txt`. */
export function fileRoutePath(absolute: string, providerId: string): string {
  const segments = absolute.slice(1).split("/");
  const bad = segments.find((segment) => unaddressable.test(segment));
  if (bad !== undefined) {
    throw new InvalidRequestError(
      `path "${absolute}": the sandbox bridge's file route cannot address names containing %, # or ?`,
      { providerId },
    );
  }
  return segments
    .map((segment) => encodeURIComponent(segment).replace(pathSafe, (match) => decodeURIComponent(match)))
    .join("/");
}

/** The `cwd` the sandbox bridge gets: always absolute, so the container's own default never matters. */
export function resolveWorkingDirectory(cwd: string | undefined, providerId: string): string {
  if (cwd === undefined) return workspaceRoot;
  const absolute = normalizeAbsolute(cwd.startsWith("/") ? cwd : `${workspaceRoot}/${cwd}`);
  if (!isInsideWorkspace(absolute)) {
    throw new InvalidRequestError(
      `cwd "${cwd}" is outside the sandbox workspace: the sandbox bridge runs commands under ${workspaceRoot} only`,
      { providerId },
    );
  }
  return absolute;
}

/**
 * The argv the sandbox bridge runs. An argv command is sent as is and `{ shell }` becomes `sh -c`. The
 * bridge's exec takes no environment, so variables travel through `env NAME=value ... argv`; a
 * first word containing `=` would read as an assignment, so it then goes through `sh -c 'exec "$@"'`.
 */
export function execArgv(command: Command, environment: Readonly<Record<string, string>>): string[] {
  const argv = "shell" in command ? ["sh", "-c", command.shell] : [...command];
  const assignments = Object.entries(environment).map(([name, value]) => `${name}=${value}`);
  if (assignments.length === 0) return argv;
  const program = argv[0] ?? "";
  const guarded = program.includes("=") ? ["sh", "-c", 'exec "$@"', "sh", ...argv] : argv;
  return ["env", ...assignments, ...guarded];
}

/**
 * The variable every exec carries, with a fresh value per exec, so that exactly its processes can be
 * found and ended later: the sandbox bridge ends no command itself (no kill when the client goes away,
 * `timeout_ms` dropped by the container's streaming exec), but it runs any other command.
 */
export const execMarkerVariable = "SANDPORT_EXEC_ID";

/**
 * A script that SIGKILLs every process whose environment holds `$1` (`NAME=value`, a whole entry),
 * repeating while it finds some, so children forked meanwhile go too. When the first look finds
 * none it looks once more after 0.5 s: an exec aborted while its request was on the way may start
 * after this one. Processes that cleared their environment escape it; nothing else in a container
 * marks a command's processes.
 */
const stopScript = [
  "n=0",
  'while [ "$n" -lt 20 ]; do',
  "  found=",
  "  for d in /proc/[0-9]*; do",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template.
  '    if grep -qxzF -e "$1" "$d/environ" 2>/dev/null; then kill -KILL "${d#/proc/}" 2>/dev/null && found=1; fi',
  "  done",
  '  if [ -z "$found" ]; then [ "$n" -gt 0 ] && exit 0; sleep 0.5; fi',
  "  n=$((n + 1))",
  "done",
].join("\n");

/** The argv that ends every process of the exec marked `marker` (see {@link execMarkerVariable}). */
export function stopCommandArgv(marker: string): string[] {
  return ["sh", "-c", stopScript, "sh", `${execMarkerVariable}=${marker}`];
}

/**
 * Throws `UnsupportedCapabilityError` for everything in `request` the sandbox bridge cannot honour: what the
 * capabilities rule out (core's check) plus a lifetime, which the sandbox bridge has no field for.
 */
export function assertCreateSupported(
  providerId: string,
  capabilities: ProviderCapabilities,
  request: CreateSandboxRequest,
): void {
  const { ttlMs, ...rest } = request;
  const reasons = unsupportedReasons(capabilities, rest);
  if (ttlMs !== undefined) {
    reasons.unshift(
      `ttlMs ${ttlMs} (the sandbox bridge has no sandbox lifetime: a container only sleeps after the ` +
        "deployment's idle sleepAfter, so a lifetime could not outlive this process)",
    );
  }
  if (reasons.length > 0) {
    throw new UnsupportedCapabilityError(`provider "${providerId}" does not support: ${reasons.join("; ")}`, {
      providerId,
    });
  }
}
