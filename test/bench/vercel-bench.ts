/**
 * The Vercel adapter against the msw fake of the Vercel API (commands and files real, one
 * `@sandport/local` sandbox per Vercel sandbox): a create -> exec -> write -> read -> destroy flow
 * through the adapter, against the same flow written directly with `@vercel/sandbox` on the same
 * fake, measured alternately in one run. Both flows make the same five requests (create, one waited
 * `cmd` stream, fs/write, fs/read, delete): an exec without `timeoutMs`, `signal` or callbacks runs
 * as one waited command, as the SDK's `runCommand` does. What the ratio shows is what the adapter
 * adds on top of the SDK: its checks and mapping.
 */
import { createVercelProvider } from "@sandport/vercel";
import { createVercelFake } from "@sandport/vercel/testing";
import { Sandbox } from "@vercel/sandbox";
import { setupServer } from "msw/node";
import type { BenchRow } from "./report.ts";
import { measureAlternately, milliseconds, percentile } from "./statistics.ts";

const flows = 50;
const credentials = { token: "bench-token-vercel", teamId: "team_bench", projectId: "prj_bench" };
const content = "hello from the benchmark\n".repeat(40);

/** Measures both flows; the fake's sandboxes and msw are released before returning. */
export async function benchVercel(): Promise<BenchRow[]> {
  const vercel = createVercelFake(credentials);
  const server = setupServer(...vercel.handlers);
  server.listen({ onUnhandledFrame: "error" });
  const provider = createVercelProvider({ providerId: "vercel", ...credentials });
  const adapterFlow = async () => {
    const sandbox = await provider.create({});
    try {
      const result = await sandbox.exec(["echo", "hello"]);
      if (result.stdout !== "hello\n") throw new Error(`adapter exec: ${JSON.stringify(result)}`);
      await sandbox.writeFile("bench.txt", content);
      const read = new TextDecoder().decode(await sandbox.readFile("bench.txt"));
      if (read !== content) throw new Error("adapter read: the content differs");
    } finally {
      await sandbox.destroy();
    }
  };
  const rawFlow = async () => {
    const sandbox = await Sandbox.create({ ...credentials, persistent: false });
    try {
      const finished = await sandbox.runCommand("echo", ["hello"]);
      const stdout = await finished.stdout();
      if (finished.exitCode !== 0 || stdout !== "hello\n") throw new Error(`raw exec: ${stdout}`);
      await sandbox.writeFiles([{ path: "/vercel/sandbox/bench.txt", content: Buffer.from(content) }]);
      const read = await sandbox.readFileToBuffer({ path: "/vercel/sandbox/bench.txt" });
      if (read?.toString("utf8") !== content) throw new Error("raw read: the content differs");
    } finally {
      await sandbox.delete();
    }
  };
  // The local sandboxes' supervisor handles do not keep Node running: while a flow waits on one
  // through msw alone, a referenced timer keeps the run from ending early.
  const keepAlive = setInterval(() => {}, 1_000);
  try {
    const [adapter, raw] = await measureAlternately(flows, adapterFlow, rawFlow, 5);
    const adapterMedian = percentile(adapter, 50);
    const rawMedian = percentile(raw, 50);
    const ratio = adapterMedian / rawMedian;
    const live = await vercel.countLiveSandboxes();
    if (live !== 0) throw new Error(`${live} sandboxes of the fake were left running`);
    return [
      {
        name: "vercel (API fake): create -> exec -> write -> read -> destroy p50, adapter",
        value: milliseconds(adapterMedian),
      },
      {
        name: "vercel (API fake): the same flow p50, @vercel/sandbox directly",
        value: milliseconds(rawMedian),
      },
      {
        name: "vercel: ratio adapter / raw (median of 50 flows)",
        value: ratio.toFixed(3),
        target: "<= 1.10",
        met: ratio <= 1.1,
      },
    ];
  } finally {
    clearInterval(keepAlive);
    server.close();
    await vercel.close();
  }
}
