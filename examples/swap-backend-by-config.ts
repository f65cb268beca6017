/**
 * Runs agent-written code in whatever backend `sandport.json` names, by name only: swapping the
 * backend is an edit of the config file, not of this program. The code is JavaScript, which every
 * backend runs (a V8 isolate, the local sandbox, a container). Run:
 *   node --conditions=@sandport/source examples/swap-backend-by-config.ts [provider-name]
 */
import { defaultConfig, defaultRegistry } from "@sandport/cli";
import { createProviderFromConfig, UnsupportedCapabilityError, withSandbox } from "@sandport/core";
import { loadConfigFile, nodeSecretSource } from "@sandport/core/node";

const registry = defaultRegistry();
const { config } = loadConfigFile({ registry, fallback: defaultConfig });
const provider = createProviderFromConfig(process.argv[2], { config, registry, secrets: nodeSecretSource() });

const agentCode = `import { readFileSync } from "node:fs";
const numbers = readFileSync("data/numbers.txt", "utf8").trim().split("\\n").map(Number);
console.log(numbers.reduce((product, number) => product * number, 1));`;

const result = await withSandbox(provider, { runtime: "javascript" }, async (sandbox) => {
  if (sandbox.runCode === undefined)
    throw new UnsupportedCapabilityError(`${provider.providerId} has no runCode`);
  await sandbox.writeFile("data/numbers.txt", "6\n7\n");
  return sandbox.runCode(agentCode, { language: "javascript", timeoutMs: 10_000 });
});
console.log(
  JSON.stringify({ provider: provider.providerId, exitCode: result.exitCode, stdout: result.stdout.trim() }),
);
