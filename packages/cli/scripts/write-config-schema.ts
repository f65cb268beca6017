/**
 * Writes packages/cli/sandport.schema.json from the config schema of the CLI's provider types.
 * Run with `npm run schema` after changing a provider's settings; a test fails while it is stale.
 */
import { writeFileSync } from "node:fs";
import { configSchemaFileName, renderConfigSchema } from "../src/config-schema.ts";

const target = new URL(`../${configSchemaFileName}`, import.meta.url);
writeFileSync(target, renderConfigSchema());
process.stdout.write(`wrote ${target.pathname}\n`);
