/** Reads `sandbox.json` from disk (Node). */
import { readFile } from "node:fs/promises";
import { ConfigInvalidError } from "@sandport/core";
import { parseSandboxManifest, type SandboxManifest } from "../sandbox-manifest.ts";

/** Reads and validates a `sandbox.json` file. */
export async function readSandboxManifest(path: string): Promise<SandboxManifest> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigInvalidError(
      `${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      {
        cause: error,
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigInvalidError(`${path}: not JSON (${(error as Error).message})`, { cause: error });
  }
  return parseSandboxManifest(parsed, path);
}
