/**
 * The in-image filesystem helper of Modal sandboxes, `/__modal/.bin/modal-sandbox-fs-tools`, as
 * the Modal fake emulates it. The SDK's `sandbox.filesystem` execs the helper with one JSON
 * argument (`{"ReadFile":{"path":...}}`, `{"WriteFile":...}`, `ListFiles`, `Stat`,
 * `MakeDirectory`, `Remove`), streams file data over its stdin and stdout, and reads failures as a
 * JSON payload `{"error_kind","message","detail"}` on stderr with a non-zero exit.
 *
 * Each operation really runs inside the sandbox's machine as a small `sh` script (so links, modes
 * and the sandbox user's permissions apply exactly as for the sandbox's own commands); the fake
 * parses the JSON request and turns the script's output into the helper's protocol.
 */
import { Buffer } from "node:buffer";

/** Where the helper lives in every Modal image. */
export const fsToolsPath = "/__modal/.bin/modal-sandbox-fs-tools";

/** Exit statuses of the scripts, each one error kind of the helper's protocol. */
const errorKinds: Record<number, { kind: string; message: string }> = {
  10: { kind: "NotFound", message: "No such file or directory" },
  11: { kind: "NotDirectory", message: "Not a directory" },
  12: { kind: "IsDirectory", message: "Is a directory" },
  13: { kind: "PermissionDenied", message: "Permission denied" },
  14: { kind: "PathAlreadyExists", message: "Path already exists" },
  15: { kind: "DirectoryNotEmpty", message: "Directory not empty" },
  16: { kind: "InvalidInput", message: "Not a regular file" },
};

const entryFormat = "%y\\0%s\\0%m\\0%M\\0%u\\0%g\\0%T@\\0%l\\0%p\\0";
const fieldsPerEntry = 9;
const present = (argument: string) => `{ [ -e "${argument}" ] || [ -L "${argument}" ]; }`;
// Finds why `mkdir -p` of $1 failed: a file in the way (11) or no permission (13).
const blockedAncestor = `p="$1"; while ! ${present("$p")} && [ "$p" != / ]; do p=$(dirname -- "$p"); done; [ -d "$p" ] && exit 13; exit 11`;

const scripts = {
  ReadFile: `${present("$1")} || exit 10
[ -e "$1" ] || exit 10
[ -d "$1" ] && exit 12
[ -f "$1" ] || exit 16
[ -r "$1" ] || exit 13
exec base64 -w 0 -- "$1"`,
  WriteFile: `d=$(dirname -- "$1")
if [ ! -d "$d" ]; then mkdir -p -- "$d" 2>/dev/null || { set -- "$d"; ${blockedAncestor}; }; fi
[ -d "$1" ] && exit 12
cat > "$1" 2>/dev/null || exit 13`,
  Stat: `export LC_ALL=C
${present("$1")} || exit 10
exec find "$1" -maxdepth 0 -printf '${entryFormat}'`,
  ListFiles: `export LC_ALL=C
${present("$1")} || exit 10
[ -d "$1" ] || exit 11
exec find -H "$1" -mindepth 1 -maxdepth 1 -printf '${entryFormat}'`,
  MakeDirectory: `if [ "$2" = true ]; then
  [ -d "$1" ] && exit 0
  ${present("$1")} && exit 11
  mkdir -p -- "$1" 2>/dev/null && exit 0
  ${blockedAncestor}
fi
${present("$1")} && exit 14
d=$(dirname -- "$1")
if [ ! -d "$d" ]; then ${present("$d")} && exit 11; exit 10; fi
mkdir -- "$1" 2>/dev/null || exit 13`,
  Remove: `${present("$1")} || exit 10
if [ -d "$1" ] && [ ! -L "$1" ]; then
  if [ "$2" = true ]; then rm -rf -- "$1" 2>/dev/null || exit 13; exit 0; fi
  rmdir -- "$1" 2>/dev/null && exit 0
  [ -n "$(ls -A -- "$1" 2>/dev/null)" ] && exit 15
  exit 13
fi
rm -f -- "$1" 2>/dev/null || exit 13`,
} as const;

type Operation = keyof typeof scripts;

/** One helper invocation as the fake runs it. */
export interface FsToolsPlan {
  /** The script and its arguments, run in the sandbox's machine. */
  argv: string[];
  /** Whether the exec's stdin feeds the script (WriteFile). */
  takesStdin: boolean;
  /** Turns the script's outcome into the helper's stdout, stderr and exit status. */
  translate(exitCode: number, stdout: string): { exitCode: number; stdout: Uint8Array; stderr: Uint8Array };
}

function failure(exitCode: number): { exitCode: number; stdout: Uint8Array; stderr: Uint8Array } {
  const known = errorKinds[exitCode] ?? { kind: "Other", message: `fs-tools failed (status ${exitCode})` };
  const payload = JSON.stringify({ error_kind: known.kind, message: known.message, detail: "" });
  return { exitCode: 1, stdout: new Uint8Array(), stderr: Buffer.from(payload) };
}

function entriesOf(text: string): Record<string, unknown>[] {
  const fields = text.split("\0");
  fields.pop();
  const entries: Record<string, unknown>[] = [];
  for (let index = 0; index + fieldsPerEntry <= fields.length; index += fieldsPerEntry) {
    const [kind, size, mode, permissions, owner, group, seconds, target, path] = fields.slice(
      index,
      index + fieldsPerEntry,
    ) as string[];
    const absolute = path as string;
    entries.push({
      name: absolute === "/" ? "/" : absolute.slice(absolute.lastIndexOf("/") + 1),
      path: absolute,
      type: kind === "d" ? "directory" : kind === "l" ? "symlink" : kind === "f" ? "file" : "other",
      size: Number(size),
      mode: Number.parseInt(mode as string, 8),
      permissions,
      owner,
      group,
      modified_time: Math.floor(Number(seconds)),
      symlink_target: kind === "l" ? target : null,
    });
  }
  return entries;
}

/**
 * The plan for one helper call, or a usage failure when the JSON argument is not a request the
 * helper knows (the helper then exits 2, as a CLI does).
 */
export function planFsTools(argument: string | undefined): FsToolsPlan {
  let request: Record<string, Record<string, unknown>> | undefined;
  try {
    request = JSON.parse(argument ?? "");
  } catch {
    request = undefined;
  }
  const operation = request === undefined ? undefined : (Object.keys(request)[0] as Operation | undefined);
  const body = operation === undefined ? undefined : request?.[operation];
  const path = body?.path;
  if (operation === undefined || !(operation in scripts) || typeof path !== "string") {
    return {
      argv: ["sh", "-c", "exit 2"],
      takesStdin: false,
      translate: () => ({
        exitCode: 2,
        stdout: new Uint8Array(),
        stderr: Buffer.from("modal-sandbox-fs-tools: unrecognised request\n"),
      }),
    };
  }
  const flag =
    operation === "MakeDirectory" ? String(body?.parents === true) : String(body?.recursive === true);
  const argv = ["sh", "-c", scripts[operation], "modal-sandbox-fs-tools", path, flag];
  return {
    argv,
    takesStdin: operation === "WriteFile",
    translate(exitCode, stdout) {
      if (exitCode !== 0) return failure(exitCode);
      let output: Uint8Array = new Uint8Array();
      if (operation === "ReadFile") output = Buffer.from(stdout, "base64");
      if (operation === "Stat") output = Buffer.from(JSON.stringify(entriesOf(stdout)[0] ?? null));
      if (operation === "ListFiles") {
        const entries = entriesOf(stdout).sort((left, right) =>
          String(left.name) < String(right.name) ? -1 : String(left.name) > String(right.name) ? 1 : 0,
        );
        output = Buffer.from(JSON.stringify(entries));
      }
      return { exitCode: 0, stdout: output, stderr: new Uint8Array() };
    },
  };
}
