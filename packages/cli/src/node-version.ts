/** The oldest Node the CLI runs on, checked before anything else is loaded. */

/** Minimum supported Node version, as `[major, minor]`. Matches `engines.node`. */
export const minimumNodeVersion: readonly [major: number, minor: number] = [22, 12];

/**
 * A message explaining that `version` is too old, or undefined when it is supported. Kept free of
 * imports so that it loads on any Node and can speak before a dependency fails to.
 */
export function unsupportedNodeVersionMessage(version: string, executable?: string): string | undefined {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const [minimumMajor, minimumMinor] = minimumNodeVersion;
  if (major > minimumMajor || (major === minimumMajor && minor >= minimumMinor)) return undefined;
  const where = executable === undefined ? "" : ` at ${executable}`;
  return (
    `sandport: needs Node >= ${minimumMajor}.${minimumMinor} (running ${version}${where}). ` +
    "Install a current Node release from https://nodejs.org and run sandport with it."
  );
}
