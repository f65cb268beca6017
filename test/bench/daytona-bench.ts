/**
 * The Daytona adapter against its fake (msw over the Daytona API, commands and files real in a
 * local sandbox): a create -> exec -> write -> read -> destroy flow through `@sandport/daytona`,
 * against the same flow written directly with `@daytonaio/sdk` over the same fake, measured
 * alternately in one run. The raw flow uses the SDK calls a caller needs for the same result
 * (a session command for separate stdout and stderr, multipart upload and download).
 */
import { Daytona } from "@daytonaio/sdk";
import { createDaytonaProvider } from "@sandport/daytona";
import { createDaytonaFake } from "@sandport/daytona/testing";
import { setupServer } from "msw/node";
import type { BenchRow } from "./report.ts";
import { measureAlternately, milliseconds, percentile } from "./statistics.ts";

const apiUrl = "https://daytona.bench.test/api";
const apiKey = "bench-key";
const flows = 50;
const data = "3 1 2\n";

/** Measures both flows; the fake and its sandboxes are gone before returning. */
export async function benchDaytona(): Promise<BenchRow[]> {
  const daytona = createDaytonaFake({ apiUrl, apiKey });
  const server = setupServer(...daytona.handlers);
  server.listen({ onUnhandledFrame: "error" });
  const provider = createDaytonaProvider({ apiUrl, apiKey, target: "us" });
  const client = new Daytona({ apiKey, apiUrl, target: "us", useDeprecatedPolling: true });
  try {
    const adapterFlow = async () => {
      const sandbox = await provider.create({});
      const result = await sandbox.exec(["echo", "hello"]);
      if (result.stdout !== "hello\n")
        throw new Error(`adapter exec printed ${JSON.stringify(result.stdout)}`);
      await sandbox.writeFile("data.txt", data);
      const read = new TextDecoder().decode(await sandbox.readFile("data.txt"));
      if (read !== data) throw new Error("adapter read back other data");
      await sandbox.destroy();
    };
    const rawFlow = async () => {
      // The lifetime the adapter forwards by default (one hour), so both creates carry the same.
      const sandbox = await client.create({ ttlMinutes: 60, autoStopInterval: 60, autoDeleteInterval: 0 });
      const sessionId = `raw-${crypto.randomUUID()}`;
      await sandbox.process.createSession(sessionId);
      const { cmdId } = await sandbox.process.executeSessionCommand(sessionId, {
        command: "echo hello",
        runAsync: true,
      });
      let stdout = "";
      let stderr = "";
      await sandbox.process.getSessionCommandLogs(
        sessionId,
        cmdId,
        (text) => {
          stdout += text;
        },
        (text) => {
          stderr += text;
        },
      );
      let command = await sandbox.process.getSessionCommand(sessionId, cmdId);
      while (command.exitCode === undefined || command.exitCode === null) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        command = await sandbox.process.getSessionCommand(sessionId, cmdId);
      }
      await sandbox.process.deleteSession(sessionId);
      if (stdout !== "hello\n" || stderr !== "")
        throw new Error(`raw exec printed ${JSON.stringify(stdout)}`);
      await sandbox.fs.uploadFile(Buffer.from(data), "data.txt");
      const read = (await sandbox.fs.downloadFile("data.txt")).toString("utf8");
      if (read !== data) throw new Error("raw read back other data");
      await sandbox.delete();
    };
    const [adapter, raw] = await measureAlternately(flows, adapterFlow, rawFlow, 3);
    const adapterMedian = percentile(adapter, 50);
    const rawMedian = percentile(raw, 50);
    const ratio = adapterMedian / rawMedian;
    return [
      {
        name: "daytona (fake): create -> exec -> write -> read -> destroy p50, adapter",
        value: milliseconds(adapterMedian),
      },
      {
        name: "daytona (fake): the same flow p50, raw @daytonaio/sdk",
        value: milliseconds(rawMedian),
      },
      { name: "daytona: ratio adapter / raw", value: ratio.toFixed(2), target: "<= 1.10", met: ratio <= 1.1 },
    ];
  } finally {
    await provider.dispose();
    await client[Symbol.asyncDispose]().catch(() => {});
    server.close();
    await daytona.close();
  }
}
