/**
 * Small text files in a sandbox, through the file API where the provider declares one and through
 * shell commands otherwise, so cases can observe a sandbox whichever of the two it has.
 */
import { type Sandbox, SandportError } from "@sandport/core";
import { expect } from "vitest";
import { decodeUtf8 } from "./bytes.ts";
import type { CaseScope } from "./case-scope.ts";

/** The outcome of a call that may legitimately fail. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Waits for `promise` and reports how it ended instead of throwing. */
export async function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Writes `text` to `path` in `sandbox` (named `name` in messages). */
export async function writeText(
  scope: CaseScope,
  sandbox: Sandbox,
  name: string,
  path: string,
  text: string,
): Promise<void> {
  if (scope.contract.capabilities.features.filesystem) {
    await scope.within(sandbox.writeFile(path, text), `writeFile("${path}") in sandbox ${name}`, 10_000);
    return;
  }
  const result = await scope.within(
    sandbox.exec(["sh", "-c", 'mkdir -p "$(dirname "$1")" && printf %s "$2" > "$1"', "sh", path, text]),
    `writing ${path} by a command in sandbox ${name}`,
    10_000,
  );
  expect(result.exitCode, `writing ${path} in sandbox ${name}: ${result.stderr}`).toBe(0);
}

/** Reads `path` in `sandbox` as text; `undefined` when there is no such file. */
export async function readText(
  scope: CaseScope,
  sandbox: Sandbox,
  name: string,
  path: string,
): Promise<string | undefined> {
  if (scope.contract.capabilities.features.filesystem) {
    const read = await scope.within(
      settle(sandbox.readFile(path)),
      `readFile("${path}") in sandbox ${name}`,
      10_000,
    );
    if (read.ok) return decodeUtf8(read.value);
    if (SandportError.isInstance(read.error) && read.error.code === "not_found") return undefined;
    throw read.error;
  }
  const result = await scope.within(
    sandbox.exec(["sh", "-c", 'test -f "$1" || exit 3; cat "$1"', "sh", path]),
    `reading ${path} by a command in sandbox ${name}`,
    10_000,
  );
  if (result.exitCode === 3) return undefined;
  expect(result.exitCode, `reading ${path} in sandbox ${name}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

/** The sandbox's working directory as its commands see it (needs a shell). */
export async function workingDirectory(scope: CaseScope, sandbox: Sandbox, name: string): Promise<string> {
  const result = await scope.within(
    sandbox.exec(["pwd", "-P"]),
    `exec(["pwd", "-P"]) in sandbox ${name}`,
    10_000,
  );
  expect(result.exitCode, `pwd -P in sandbox ${name}: ${result.stderr}`).toBe(0);
  return result.stdout.trim();
}
