/**
 * The `sandport` executable. It checks the Node version first and only then loads the CLI, because
 * the CLI's dependencies fail on an old Node with errors that do not say why.
 */
import { enableCompileCacheForUser } from "./compile-cache.ts";
import { unsupportedNodeVersionMessage } from "./node-version.ts";

const problem = unsupportedNodeVersionMessage(process.versions.node, process.execPath);
if (problem === undefined) {
  enableCompileCacheForUser(process.env);
  const { flushStream, processEnvironment } = await import("./cli-environment.ts");
  const { runCli } = await import("./run-cli.ts");
  const exitCode = await runCli(process.argv.slice(2), processEnvironment());
  await Promise.all([flushStream(process.stdout), flushStream(process.stderr)]);
  // Exit explicitly: a provider may keep a handle open (a pooled connection, a timer), and the
  // user's shell must not wait for it once the command's result is known.
  process.exit(exitCode);
} else {
  process.stderr.write(`${problem}\n`);
  process.exitCode = 1;
}
