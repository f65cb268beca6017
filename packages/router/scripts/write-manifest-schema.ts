/**
 * Writes packages/router/sandbox.schema.json from the manifest schema. Run with `npm run schema`
 * after changing the manifest; a test fails while it is stale.
 */
import { writeFileSync } from "node:fs";
import { manifestSchemaFileName, renderManifestSchema } from "../src/manifest-schema.ts";

const target = new URL(`../${manifestSchemaFileName}`, import.meta.url);
writeFileSync(target, renderManifestSchema());
process.stdout.write(`wrote ${target.pathname}\n`);
