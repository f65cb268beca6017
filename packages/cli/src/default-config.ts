/** The config used when no `sandport.json` exists: the local sandbox, which needs no account. */
import type { SandportConfig } from "@sandport/core";

/** The embedded default config. */
export const defaultConfig: SandportConfig = Object.freeze({
  providers: Object.freeze({ local: Object.freeze({ type: "local" }) }),
});
