/**
 * The Modal adapter against the gRPC fake of Modal's API (commands and files real, one
 * `@sandport/local` sandbox per Modal sandbox): a create -> exec -> write -> read -> destroy flow
 * through the adapter, against the same flow written directly with the `modal` SDK on the same
 * fake, measured alternately in one run. What the ratio shows is what the adapter adds (its checks,
 * closing the command's stdin so it reads end of input, releasing the router connection on
 * destroy) on top of the SDK.
 *
 * The same flow through the `modal-function` provider (sandport's runner deployed in the fake, one
 * function call per exec, files kept with the caller) is measured against one `remote()` call of
 * the runner written directly with the SDK.
 *
 * The SDK reads its endpoint from MODAL_SERVER_URL and ~/.modal.toml at import: both are set to the
 * fake before `modal` is imported (dynamically, below).
 */
import { createModalFunctionProvider, createModalSandboxProvider, runnerProtocol } from "@sandport/modal";
import { createModalFake } from "@sandport/modal/testing";
import type { BenchRow } from "./report.ts";
import { measureAlternately, milliseconds, percentile } from "./statistics.ts";

const flows = 50;
const credentials = { tokenId: "ak-bench-modal", tokenSecret: "as-bench-modal-secret" };
const content = "hello from the benchmark\n".repeat(40);

/** Measures both flows; the fake's sandboxes and server are released before returning. */
export async function benchModal(): Promise<BenchRow[]> {
  const modal = await createModalFake(credentials);
  const saved = { ...process.env };
  Object.assign(process.env, modal.environment);
  const { ModalClient } = await import("modal");
  const provider = createModalSandboxProvider({ providerId: "modal-sandbox", ...credentials });
  const client = new ModalClient(credentials);
  const app = await client.apps.fromName("sandport-bench", { createIfMissing: true });
  const image = client.images.fromRegistry("python:3.13-slim");
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
    const sandbox = await client.sandboxes.create(app, image, { timeoutMs: 300_000, workdir: "/workspace" });
    try {
      const process = await sandbox.exec(["echo", "hello"]);
      const [stdout, exitCode] = await Promise.all([process.stdout.readText(), process.wait()]);
      if (exitCode !== 0 || stdout !== "hello\n") throw new Error(`raw exec: ${stdout}`);
      await sandbox.filesystem.writeText(content, "/workspace/bench.txt");
      const read = await sandbox.filesystem.readText("/workspace/bench.txt");
      if (read !== content) throw new Error("raw read: the content differs");
    } finally {
      await sandbox.terminate();
      sandbox.detach();
    }
  };
  try {
    const [adapter, raw] = await measureAlternately(flows, adapterFlow, rawFlow, 5);
    const adapterMedian = percentile(adapter, 50);
    const rawMedian = percentile(raw, 50);
    const ratio = adapterMedian / rawMedian;
    const live = await modal.countLiveSandboxes();
    if (live !== 0) throw new Error(`${live} sandboxes of the fake were left running`);
    const functionRows = await benchModalFunction(modal.deployRunner().appName, client);
    return [
      {
        name: "modal (gRPC fake): create -> exec -> write -> read -> destroy p50, adapter",
        value: milliseconds(adapterMedian),
      },
      { name: "modal (gRPC fake): the same flow p50, modal SDK directly", value: milliseconds(rawMedian) },
      {
        name: "modal: ratio adapter / raw (median of 50 flows)",
        value: ratio.toFixed(3),
        target: "<= 1.10",
        met: ratio <= 1.1,
      },
      ...functionRows,
    ];
  } finally {
    await provider.dispose();
    client.close();
    await modal.close();
    for (const key of Object.keys(modal.environment)) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
}

/** The same flow through `modal-function` against one direct `remote()` call of the deployed runner. */
async function benchModalFunction(
  appName: string,
  client: InstanceType<typeof import("modal").ModalClient>,
): Promise<BenchRow[]> {
  const provider = createModalFunctionProvider({ providerId: "modal-function", appName, ...credentials });
  const runner = await client.functions.fromName(appName, "run");
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
    const reply = (await runner.remote([
      {
        protocol: runnerProtocol,
        command: ["echo", "hello"],
        cwd: "/workspace",
        env: {},
        entries: [],
        max_output_bytes: 1024,
      },
    ])) as { stdout?: Uint8Array };
    if (new TextDecoder().decode(reply.stdout) !== "hello\n") throw new Error("raw call: unexpected stdout");
    // The raw flow keeps the file where the adapter does: with the caller.
    const files = new Map<string, string>([["bench.txt", content]]);
    if (files.get("bench.txt") !== content) throw new Error("raw read: the content differs");
  };
  try {
    const [adapter, raw] = await measureAlternately(flows, adapterFlow, rawFlow, 5);
    const adapterMedian = percentile(adapter, 50);
    const rawMedian = percentile(raw, 50);
    const ratio = adapterMedian / rawMedian;
    return [
      {
        name: "modal-function (gRPC fake, shipped runner): create -> exec -> write -> read -> destroy p50, adapter",
        value: milliseconds(adapterMedian),
      },
      {
        name: "modal-function (gRPC fake): one remote() call of the runner p50, modal SDK directly",
        value: milliseconds(rawMedian),
      },
      {
        name: "modal-function: ratio adapter / raw (median of 50 flows)",
        value: ratio.toFixed(3),
        target: "<= 1.10",
        met: ratio <= 1.1,
      },
    ];
  } finally {
    await provider.dispose();
  }
}
