import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configSchemaFileName, renderConfigSchema } from "./config-schema.ts";

describe("sandport.schema.json", () => {
  it("matches what the generator produces from the current provider settings", () => {
    const file = new URL(`../${configSchemaFileName}`, import.meta.url);
    const committed = existsSync(file) ? readFileSync(file, "utf8") : "(missing)";
    expect(committed, `${configSchemaFileName} is stale: run \`npm run schema\``).toBe(renderConfigSchema());
  });

  it("describes each provider entry by its type", () => {
    const schema = JSON.parse(renderConfigSchema()) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["providers", "default"]));
    expect(JSON.stringify(schema.properties.providers)).toContain('"const":"local"');
  });
});
