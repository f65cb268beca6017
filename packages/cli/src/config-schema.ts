/** The JSON Schema of `sandport.json` that editors use, generated from the same zod schema that validates it. */
import { createConfigSchema, type ProviderRegistry } from "@sandport/core";
import { z } from "zod";
import { defaultRegistry } from "./default-registry.ts";

/** The file name of the published schema, at the package root. */
export const configSchemaFileName = "sandport.schema.json";

/** The JSON Schema text for the provider types in `registry`: pretty-printed, with a trailing newline. */
export function renderConfigSchema(registry: ProviderRegistry = defaultRegistry()): string {
  return `${JSON.stringify(z.toJSONSchema(createConfigSchema(registry)), null, 2)}\n`;
}
