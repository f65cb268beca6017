/** The JSON Schema of `sandbox.json` that editors use, generated from the schema that validates it. */
import * as z from "zod";
import { sandboxManifestSchema } from "./sandbox-manifest.ts";

/** The file name of the published schema, at the package root. */
export const manifestSchemaFileName = "sandbox.schema.json";

/** The JSON Schema text: pretty-printed, with a trailing newline. */
export function renderManifestSchema(): string {
  return `${JSON.stringify(z.toJSONSchema(sandboxManifestSchema, { io: "input" }), null, 2)}\n`;
}
