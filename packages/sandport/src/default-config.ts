/**
 * The config used when no `sandport.json` exists; neither provider needs an account or network.
 * JavaScript and TypeScript go to V8 isolates under workerd (`edge`, listed first); shell and
 * Python go to the local namespace sandbox, the first provider that runs them.
 */
import type { SandportConfig } from "@sandport/core";

/** The embedded default config. */
export const defaultConfig: SandportConfig = Object.freeze({
  providers: Object.freeze({
    edge: Object.freeze({ type: "cloudflare-isolate", mode: "local" }),
    local: Object.freeze({ type: "local" }),
  }),
});
