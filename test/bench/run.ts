/**
 * `npm run bench`: measures the local backend, core and the `cloudflare-isolate` provider against
 * baselines taken in the same run, and prints one table with ratios. Targets from the issues are
 * reported, never asserted.
 */
import { availableParallelism, loadavg } from "node:os";
import { benchCli } from "./cli-bench.ts";
import { benchDaytona } from "./daytona-bench.ts";
import { benchIsolate } from "./isolate-bench.ts";
import { benchIsolateTenants } from "./isolate-tenant-bench.ts";
import { benchKit } from "./kit-bench.ts";
import { benchLocal } from "./local-bench.ts";
import { benchModal } from "./modal-bench.ts";
import { printReport } from "./report.ts";
import { benchRouter } from "./router-bench.ts";
import { benchTunnel } from "./tunnel-bench.ts";
import { benchVercel } from "./vercel-bench.ts";

// The load average says how much the figures may be disturbed by other work on the machine.
const loadBefore = loadavg()[0] as number;
const local = await benchLocal();
const isolateRows = await benchIsolate();
const tenantRows = await benchIsolateTenants();
const kitRows = await benchKit();
const cliRows = await benchCli();
const routerRows = await benchRouter();
const adapterRows = [...(await benchDaytona()), ...(await benchVercel()), ...(await benchModal())];
const tunnelRows = await benchTunnel();
printReport(
  `sandport bench — node ${process.version}, ${process.arch}, ${availableParallelism()} cores, ` +
    `load average ${loadBefore.toFixed(2)} at start, isolation selected: ${local.isolationSelected}`,
  [
    ...local.rows,
    ...isolateRows,
    ...tenantRows,
    ...kitRows,
    ...cliRows,
    ...routerRows,
    ...adapterRows,
    ...tunnelRows,
  ],
);
