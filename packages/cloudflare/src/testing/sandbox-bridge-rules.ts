/**
 * The sandbox bridge's own rules, as `@cloudflare/sandbox/bridge` (0.12) applies them, re-stated for the
 * fake: id format, how the router decodes a path, and the /workspace confinement of files and cwd.
 */

/** Sandbox ids the sandbox bridge accepts: lowercase base32, as `POST /sandbox` mints them. */
export const sandboxBridgeIdPattern = /^[a-z2-7]{1,128}$/;

/** A new id like the sandbox bridge's: 16 random bytes in lowercase RFC 4648 base32 (26 characters). */
export function mintSandboxBridgeId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let bits = 0;
  let value = 0;
  let id = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      id += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) id += alphabet[(value << (5 - bits)) & 31];
  return id;
}

/**
 * The path as the sandbox bridge's router (Hono) sees it: `decodeURI` applied, except that `%25` stays
 * encoded; an undecodable sequence is kept as it is.
 */
export function decodeRoutedPath(rawPath: string): string {
  if (!rawPath.includes("%")) return rawPath;
  const protectedPercent = rawPath.replace(/%25/g, "%2525");
  try {
    return decodeURI(protectedPercent);
  } catch {
    return protectedPercent.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURI(run);
      } catch {
        return run;
      }
    });
  }
}

/** `/workspace`-relative or absolute path, normalized; `undefined` when it leaves /workspace. */
export function resolveSandboxBridgeWorkspacePath(path: string): string | undefined {
  const absolute = path.startsWith("/") ? path : `/workspace/${path}`;
  const parts: string[] = [];
  for (const segment of absolute.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") parts.pop();
    else parts.push(segment);
  }
  const resolved = `/${parts.join("/")}`;
  return resolved === "/workspace" || resolved.startsWith("/workspace/") ? resolved : undefined;
}

/** The sandbox bridge's error body. */
export function sandboxBridgeErrorResponse(status: number, error: string, code: string): Response {
  return new Response(JSON.stringify({ error, code }), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/**
 * The bridge's `shellQuote`, restated with its JavaScript behaviour on any JSON value: a value whose
 * string form is all safe characters comes back unchanged (so `42`, `true` and `null` pass, and
 * `join` later writes `null` as nothing); anything else needs `String.prototype.replace`, which a
 * non-string lacks, so it throws a `TypeError` (the bridge's route then answers Hono's plain 500).
 */
function bridgeShellQuote(argument: unknown): unknown {
  if (/^[A-Za-z0-9@%+=:,./-]+$/.test(String(argument))) return argument;
  if (typeof argument !== "string") throw new TypeError("arg.replace is not a function");
  return `$'${argument
    .replace(/\\/g, "\\\\")
    .replace(/'/g, "\\'")
    .replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r")
    .replace(/\t/g, "\\t")}'`;
}

/**
 * The one command line the sandbox bridge hands to the container's bash session for an exec body's
 * argv: `argv.map(shellQuote).join(" ")`, ANSI-C `$'...'` quoting included. Throws `TypeError` where
 * the bridge throws.
 */
export function sandboxBridgeCommandLine(argv: readonly unknown[]): string {
  return argv.map(bridgeShellQuote).join(" ");
}
