/**
 * What an egress allowlist lets through, shared by the isolate Worker's outbound gate and local
 * mode's egress proxy in Node (so both apply one rule). Plain TypeScript, no runtime API: the
 * Worker loads this very file.
 *
 * An allowlist entry is a host name (`example.com`), a wildcard (`*.example.com`: any subdomain),
 * an address (`203.0.113.7`, `2001:db8::7`) or a range (`10.0.0.0/8`, `fd00::/8`), optionally with
 * a port: `example.com:8443`, `127.0.0.1:8080`, `10.0.0.0/8:5432`, `[2001:db8::7]:8080`,
 * `[fd00::]/8:8080`. An entry without a port opens the web's default ports only, 80 and 443, so
 * allowing a host never opens its other services. A name that is allowed must still resolve to a
 * public address: loopback, private, link-local and the other special ranges below are reached
 * only when an address or range entry names them explicitly, for that entry's ports.
 */

/** Header carrying the target URL from the gate to local mode's egress proxy. */
export const egressUrlHeader = "x-sandport-egress-url";
/** Header carrying the sandbox's allowlist (JSON) from the gate to local mode's egress proxy. */
export const egressAllowHeader = "x-sandport-egress-allow";
/** Header on the proxy's answer when it refused or failed the request; the gate throws its text. */
export const egressRefusalHeader = "x-sandport-egress-refused";

/** An IP address as bytes: 4 for IPv4, 16 for IPv6. */
type AddressBytes = readonly number[];

/** A parsed range entry. */
interface AddressRange {
  bytes: AddressBytes;
  prefix: number;
}

function parseIpv4(text: string): AddressBytes | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const value = Number(part);
    if (value > 255 || (part.length > 1 && part.startsWith("0"))) return undefined;
    bytes.push(value);
  }
  return bytes;
}

function parseIpv6(text: string): AddressBytes | undefined {
  let body = text;
  // A trailing dotted quad (`::ffff:127.0.0.1`) stands for the last two groups.
  const lastColon = body.lastIndexOf(":");
  if (body.includes(".", lastColon)) {
    const quad = parseIpv4(body.slice(lastColon + 1));
    if (quad === undefined) return undefined;
    const [a, b, c, d] = quad as [number, number, number, number];
    body = `${body.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === "") return [];
    const groups: number[] = [];
    for (const group of part.split(":")) {
      if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined;
      groups.push(Number.parseInt(group, 16));
    }
    return groups;
  };
  const head = groupsOf(halves[0] as string);
  const rest = halves.length === 2 ? groupsOf(halves[1] as string) : [];
  if (head === undefined || rest === undefined) return undefined;
  let groups: number[];
  if (halves.length === 1) {
    if (head.length !== 8) return undefined;
    groups = head;
  } else {
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  }
  return groups.flatMap((group) => [group >> 8, group & 0xff]);
}

/**
 * Parses an IP address (IPv4 dotted quad, or IPv6 with or without brackets and zone), returning
 * its bytes; `undefined` when `text` is not an address (a host name, say).
 */
export function parseIpAddress(text: string): AddressBytes | undefined {
  let address = text;
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  const zone = address.indexOf("%");
  if (zone !== -1) address = address.slice(0, zone);
  return address.includes(":") ? parseIpv6(address) : parseIpv4(address);
}

/**
 * The IPv4 address an IPv6 address carries in a form that reaches IPv4 hosts (IPv4-mapped
 * `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:AABB:CCDD::`);
 * the address itself otherwise.
 */
function effectiveAddress(bytes: AddressBytes): AddressBytes {
  if (bytes.length !== 16) return bytes;
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((byte) => byte === 0);
  const mapped = zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff;
  const compatible = zeros(0, 12) && !zeros(12, 16) && !(zeros(12, 15) && bytes[15] === 1);
  const nat64 =
    bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12);
  if (mapped || compatible || nat64) return bytes.slice(12, 16);
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6);
  return bytes;
}

function inRange(bytes: AddressBytes, range: AddressRange): boolean {
  if (bytes.length !== range.bytes.length) return false;
  let bits = range.prefix;
  for (let index = 0; bits > 0; index += 1, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((bytes[index] as number) & mask) !== ((range.bytes[index] as number) & mask)) return false;
  }
  return true;
}

/** Parses a range entry (`10.0.0.0/8`, `fd00::/8`) or a bare address (a range of one). */
export function parseAddressRange(entry: string): AddressRange | undefined {
  const slash = entry.indexOf("/");
  const bytes = parseIpAddress(slash === -1 ? entry : entry.slice(0, slash));
  if (bytes === undefined || entry.startsWith("[")) return undefined;
  const bits = bytes.length * 8;
  if (slash === -1) return { bytes, prefix: bits };
  const prefixText = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return undefined;
  return { bytes, prefix: Number(prefixText) };
}

function range(entry: string): AddressRange {
  const parsed = parseAddressRange(entry);
  if (parsed === undefined) throw new Error(`bad built-in range ${entry}`);
  return parsed;
}

/** Ranges code reaches only through an explicit address or range entry, with what they are. */
const specialRanges: readonly (readonly [AddressRange, string])[] = [
  [range("169.254.169.254"), "cloud metadata"],
  [range("fd00:ec2::254"), "cloud metadata"],
  [range("0.0.0.0/8"), "unspecified"],
  [range("127.0.0.0/8"), "loopback"],
  [range("10.0.0.0/8"), "private"],
  [range("172.16.0.0/12"), "private"],
  [range("192.168.0.0/16"), "private"],
  [range("100.64.0.0/10"), "shared (CGNAT)"],
  [range("169.254.0.0/16"), "link-local"],
  [range("192.0.0.0/24"), "reserved"],
  [range("198.18.0.0/15"), "reserved"],
  [range("224.0.0.0/4"), "multicast"],
  [range("240.0.0.0/4"), "reserved or broadcast"],
  [range("::/128"), "unspecified"],
  [range("::1/128"), "loopback"],
  [range("::/96"), "reserved"],
  [range("64:ff9b:1::/48"), "reserved"],
  [range("fc00::/7"), "private (unique local)"],
  [range("fe80::/10"), "link-local"],
  [range("fec0::/10"), "private (site-local)"],
  [range("ff00::/8"), "multicast"],
];

/**
 * What kind of special address `address` is (`"loopback"`, `"private"`, ...), or `undefined` for a
 * public one. IPv6 forms that carry an IPv4 address are judged by that address too.
 */
export function specialAddressKind(address: string): string | undefined {
  const bytes = parseIpAddress(address);
  if (bytes === undefined) return "not an address";
  for (const candidate of [effectiveAddress(bytes), bytes]) {
    for (const [special, kind] of specialRanges) if (inRange(candidate, special)) return kind;
  }
  return undefined;
}

function normalizeHost(host: string): string {
  let normalized = host.toLowerCase().replace(/\.$/, "");
  if (normalized.startsWith("[") && normalized.endsWith("]")) normalized = normalized.slice(1, -1);
  return normalized;
}

/** Ports an entry without its own port opens: the web's defaults. */
export const defaultAllowedPorts: readonly number[] = [80, 443];

/** An allowlist entry split into its host part (name, wildcard, address or range) and its port. */
interface AllowEntry {
  host: string;
  /** `undefined`: the default ports ({@link defaultAllowedPorts}). */
  port: number | undefined;
}

const namePattern = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i;

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * Splits `entry` into host and port: `host:port`, `[v6]:port` and `[v6]/prefix:port` carry one; a
 * bare IPv6 address or range (more than one colon, no brackets) never does. `undefined` when the
 * entry is not valid.
 */
function parseAllowEntry(entry: string): AllowEntry | undefined {
  let host = entry;
  let port: number | undefined;
  if (entry.startsWith("[")) {
    const close = entry.indexOf("]");
    if (close === -1) return undefined;
    const inner = entry.slice(1, close);
    const rest = /^(\/\d{1,3})?(?::(\d+))?$/.exec(entry.slice(close + 1));
    if (rest === null || !inner.includes(":")) return undefined;
    host = `${inner}${rest[1] ?? ""}`;
    if (rest[2] !== undefined) {
      port = parsePort(rest[2]);
      if (port === undefined) return undefined;
    }
  } else {
    const colons = entry.split(":").length - 1;
    if (colons === 1) {
      const colon = entry.indexOf(":");
      host = entry.slice(0, colon);
      port = parsePort(entry.slice(colon + 1));
      if (port === undefined) return undefined;
    }
  }
  if (parseAddressRange(host) !== undefined) return { host, port };
  if (host.includes(":") || !namePattern.test(host)) return undefined;
  return { host, port };
}

function entriesOf(allow: readonly string[]): AllowEntry[] {
  const entries: AllowEntry[] = [];
  for (const entry of allow) {
    const parsed = parseAllowEntry(entry);
    if (parsed !== undefined) entries.push(parsed);
  }
  return entries;
}

function portOpen(entry: AllowEntry, port: number | undefined): boolean {
  // `undefined`: the caller checks the host only (the port is checked where it is known).
  if (port === undefined) return true;
  return entry.port === undefined ? defaultAllowedPorts.includes(port) : entry.port === port;
}

/** The port a URL reaches: its own, or its scheme's default. */
export function portOf(url: URL): number {
  if (url.port !== "") return Number(url.port);
  return url.protocol === "https:" ? 443 : 80;
}

function addressMatches(address: string, entries: readonly AllowEntry[], port: number | undefined): boolean {
  const bytes = parseIpAddress(address);
  if (bytes === undefined) return false;
  const forms = [bytes, effectiveAddress(bytes)];
  return entries.some((entry) => {
    const listed = parseAddressRange(entry.host);
    return listed !== undefined && portOpen(entry, port) && forms.some((form) => inRange(form, listed));
  });
}

/**
 * True when an address or range entry holds this address, for `port` (any entry's port when
 * `port` is not given).
 */
export function addressListed(address: string, allow: readonly string[], port?: number): boolean {
  return addressMatches(address, entriesOf(allow), port);
}

function hostMatches(host: string, entries: readonly AllowEntry[], port: number | undefined): boolean {
  const normalized = normalizeHost(host);
  if (parseIpAddress(normalized) !== undefined) return addressMatches(normalized, entries, port);
  return entries.some((entry) => {
    if (!portOpen(entry, port)) return false;
    const pattern = normalizeHost(entry.host);
    if (pattern.startsWith("*.")) {
      const suffix = pattern.slice(1);
      return normalized.endsWith(suffix) && normalized.length > suffix.length;
    }
    return normalized === pattern;
  });
}

/**
 * True when the allowlist lets code ask for `host` (a URL's hostname) on `port`: a name matching a
 * name or wildcard entry, or an address that an address or range entry holds, whose port (or the
 * default ports, for an entry without one) includes `port`. Without `port` only the host is checked.
 */
export function hostAllowed(host: string, allow: readonly string[], port?: number): boolean {
  return hostMatches(host, entriesOf(allow), port);
}

/**
 * Why the allowlist refuses `url`, or `undefined` when it lets it through: the scheme, the host, or
 * the port (named apart, so the message says what to add).
 */
export function urlRefusal(url: URL, allow: readonly string[]): string | undefined {
  const host = normalizeHost(url.hostname);
  const web = url.protocol === "https:" || url.protocol === "http:";
  const entries = entriesOf(allow);
  if (!web || !hostMatches(host, entries, undefined)) {
    return `sandport: network access to ${url.hostname} is not allowed; this sandbox may reach only ${allow.join(", ")}`;
  }
  const port = portOf(url);
  if (!hostMatches(host, entries, port)) {
    return `sandport: network access to ${url.hostname} port ${port} is not allowed; an entry without a port opens ports 80 and 443 only (add "${url.hostname}:${port}" to reach it)`;
  }
  return undefined;
}

/**
 * Why code may not connect to `address` on `port` (reached for `host`), or `undefined` when it
 * may: a public address, or a special one an address or range entry names for that port.
 */
export function addressRefusal(
  host: string,
  address: string,
  allow: readonly string[],
  port?: number,
): string | undefined {
  const kind = specialAddressKind(address);
  if (kind === undefined || addressListed(address, allow, port)) return undefined;
  return `sandport: network access to ${normalizeHost(host)} is not allowed: it resolves to ${address}, a ${kind} address, which only an address or range in the allowlist (e.g. "${address}") opens`;
}

/**
 * True when `entry` is a valid allowlist entry: a host name, a `*.` wildcard, an address or a
 * range, optionally with a port (`host:port`, `[v6]:port`).
 */
export function validAllowEntry(entry: string): boolean {
  return parseAllowEntry(entry) !== undefined;
}
