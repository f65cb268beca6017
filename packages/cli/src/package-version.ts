/** The CLI's own version, for `--version`. */
import { readFileSync } from "node:fs";

/** The `version` of @sandport/cli's package.json (read at runtime: it sits one level above both src and dist). */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version?: unknown;
  };
  return typeof manifest.version === "string" ? manifest.version : "unknown";
}
