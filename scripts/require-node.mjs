// Fails early with a clear message when a script runs on a Node older than the project needs.
// `npm run` puts node_modules/.bin first on PATH, where the pinned `node` package (24.x) lives;
// a bare `node` or a direct ./node_modules/.bin/<tool> call can still reach the system Node.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `sandport needs Node >= 22.12 (running ${process.versions.node} at ${process.execPath}).\n` +
      "Run scripts through npm (npm run / npm test / npx), which uses the pinned Node 24 from node_modules/.bin.",
  );
  process.exit(1);
}
