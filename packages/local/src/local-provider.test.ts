import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeProviderContract } from "@sandport/contract";
import { afterAll } from "vitest";
import { detectIsolation } from "./isolation-detect.ts";
import { createLocalProvider } from "./local-provider.ts";

// The whole contract, once per isolation tool that works on this machine.
const report = await detectIsolation();

for (const tool of report.tools.filter((candidate) => candidate.usable)) {
  const stateDirectory = mkdtempSync(join(tmpdir(), `sandport-local-contract-${tool.name}-`));
  afterAll(() => rmSync(stateDirectory, { recursive: true, force: true }));
  describeProviderContract({
    name: `local (${tool.name})`,
    create: () => createLocalProvider({ isolation: tool.name, stateDirectory }),
  });
}
