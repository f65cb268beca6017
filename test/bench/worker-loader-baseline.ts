/**
 * The baseline for the `cloudflare-isolate` provider: miniflare's Worker Loader called directly,
 * with no provider in between. A tiny Worker loads the module it is sent into a fresh isolate with
 * the same compatibility date and flags the provider's bridge uses, and calls it over RPC as the
 * bridge calls its runner.
 */
import type { Readable } from "node:stream";
// The copy @sandport/cloudflare resolves (hoisted), so both run the same workerd binary.
import { Miniflare, NoOpLog } from "miniflare";

/** The compatibility settings of the provider's isolates (worker/src/run-in-isolate.ts). */
const isolateCompatibilityDate = "2026-07-01";
const isolateCompatibilityFlags = ["nodejs_compat"];

/** Loads the request body as the main module of a fresh isolate (no id: never cached) and calls it. */
const loaderWorkerScript = `
export default {
  async fetch(request, env) {
    const worker = env.LOADER.load({
      compatibilityDate: ${JSON.stringify(isolateCompatibilityDate)},
      compatibilityFlags: ${JSON.stringify(isolateCompatibilityFlags)},
      mainModule: "main.js",
      modules: { "main.js": await request.text() },
      env: {},
      globalOutbound: null,
    });
    return new Response(String(await worker.getEntrypoint().run()));
  },
};
`;

/**
 * The snippet's work, `console.log(1)`, as the loaded module. The code travels in every request,
 * as the provider's does.
 */
const snippetModule = `import { WorkerEntrypoint } from "cloudflare:workers";
export default class extends WorkerEntrypoint {
  run() {
    console.log(1);
    return "done";
  }
}
`;

/** A running baseline. */
export interface WorkerLoaderBaseline {
  /** One `dispatchFetch` round trip that runs the snippet in a fresh isolate. */
  runSnippet(): Promise<void>;
  /** Bytes workerd wrote to stdout: proof the snippet's console.log ran. */
  printedBytes(): number;
  /** Stops workerd. */
  dispose(): Promise<void>;
}

/** Starts the baseline's workerd (one process). */
export async function startWorkerLoaderBaseline(): Promise<WorkerLoaderBaseline> {
  let printed = 0;
  const miniflare = new Miniflare({
    modules: true,
    compatibilityDate: isolateCompatibilityDate,
    workerLoaders: { LOADER: {} },
    script: loaderWorkerScript,
    host: "127.0.0.1",
    port: 0,
    // The isolate's console.log goes to workerd's stdout. We drain both streams and only count the
    // bytes: the provider captures output inside the isolate and never writes to a terminal, so
    // timing terminal writes (miniflare's default) would slow the baseline for nothing.
    log: new NoOpLog(),
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      stdout.on("data", (chunk: Buffer) => {
        printed += chunk.byteLength;
      });
      stderr.resume();
    },
  });
  try {
    await miniflare.ready;
  } catch (error) {
    await miniflare.dispose().catch(() => {});
    throw error;
  }
  return {
    runSnippet: async () => {
      const response = await miniflare.dispatchFetch("http://baseline.invalid/", {
        method: "POST",
        body: snippetModule,
      });
      const text = await response.text();
      // A failing load would be a flattering baseline: insist on success.
      if (text !== "done") throw new Error(`the Worker Loader baseline answered ${response.status}: ${text}`);
    },
    printedBytes: () => printed,
    dispose: () => miniflare.dispose(),
  };
}
