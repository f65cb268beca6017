/** The JSON Schema of `sandport.json` that editors use, generated from the same zod schema that validates it. */
import { createConfigSchema, type ProviderRegistry } from "@sandport/core";
import { routingPolicySchema } from "@sandport/router";
import { gatewayConfigSchema, tunnelConfigSchema } from "@sandport/tunnel";
import * as z from "zod";
import { defaultRegistry } from "./default-registry.ts";

/** The file name of the published schema, at the package root. */
export const configSchemaFileName = "sandport.schema.json";

/** The JSON Schema text for the provider types in `registry`: pretty-printed, with a trailing newline. */
export function renderConfigSchema(registry: ProviderRegistry = defaultRegistry()): string {
  // The sections other packages validate are described by their own schemas, as written (defaults optional).
  const schema = createConfigSchema(registry).extend({
    policy: routingPolicySchema.optional(),
    tunnel: tunnelConfigSchema.optional(),
    gateway: gatewayConfigSchema.optional(),
  });
  return `${JSON.stringify(z.toJSONSchema(schema, { io: "input" }), null, 2)}\n`;
}
