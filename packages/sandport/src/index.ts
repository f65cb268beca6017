/**
 * `sandport`: one `SandboxProvider` interface over every sandbox backend, with policy routing. The
 * front door: every built-in provider type, the embedded default config, and `createSandport`.
 */
export { builtInRegistry } from "./built-in-registry.ts";
export { createSandport, type Sandport, type SandportOptions } from "./create-sandport.ts";
export { defaultConfig } from "./default-config.ts";
