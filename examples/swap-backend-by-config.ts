/**
 * Runs agent-written code in whatever backend `sandport.json` names, by name only: swapping the
 * backend is an edit of the config file, not of this program. Run:
 *   node --conditions=@sandport/source examples/swap-backend-by-config.ts [provider-name]
 */
import { defaultConfig, defaultRegistry } from "@sandport/cli";
import { createProviderFromConfig, withSandbox } from "@sandport/core";
import { loadConfigFile, nodeSecretSource } from "@sandport/core/node";

const registry = defaultRegistry();
const { config } = loadConfigFile({ registry, fallback: defaultConfig });
const provider = createProviderFromConfig(process.argv[2], { config, registry, secrets: nodeSecretSource() });

const result = await withSandbox(provider, { runtime: "python" }, async (sandbox) => {
  await sandbox.writeFile("data/numbers.txt", "6\n7\n");
  return sandbox.exec(
    ["python3", "-c", "import math; print(math.prod(int(n) for n in open('data/numbers.txt')))"],
    {
      timeoutMs: 10_000,
    },
  );
});
console.log(
  JSON.stringify({ provider: provider.providerId, exitCode: result.exitCode, stdout: result.stdout.trim() }),
);
