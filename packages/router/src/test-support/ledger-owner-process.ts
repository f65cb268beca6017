/**
 * A process that owns sandboxes: it creates `count` sandboxes through a router over the local
 * provider, recording them in the ledger at `path`, prints their ids as one JSON line, and then
 * waits to be killed. Run with `node --conditions=@sandport/source`.
 */
import { createLocalProvider } from "@sandport/local";
import { openSqliteLedger } from "../node/sqlite-ledger.ts";
import { createRouter } from "../router.ts";

const [path, countText] = process.argv.slice(2);
const router = createRouter({
  providers: [createLocalProvider({})],
  ledger: openSqliteLedger(path as string),
});
const ids: string[] = [];
for (let index = 0; index < Number(countText); index += 1) {
  ids.push((await router.create({ runtime: "shell", labels: { purpose: "ledger-test" } })).id);
}
process.stdout.write(`${JSON.stringify(ids)}\n`);
setInterval(() => {}, 60_000);
