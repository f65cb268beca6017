import { describeProviderContract } from "@sandport/contract";
import { afterAll } from "vitest";
import { createCloudflareIsolateProvider } from "./cloudflare-isolate-provider.ts";
import { type IsolateWorkerInstance, startIsolateWorker } from "./isolate/isolate-worker.ts";

// Local mode: the isolate Worker under workerd in this process's engine pool.
const local = createCloudflareIsolateProvider({ mode: "local" });
afterAll(() => local.dispose());
describeProviderContract({ name: "cloudflare-isolate (local)", create: () => local });

// Remote mode: the same Worker served on loopback, reached over HTTP with its bearer token.
const token = "contract-token-0123456789";
let isolateWorker: IsolateWorkerInstance | undefined;
afterAll(() => isolateWorker?.dispose());
describeProviderContract({
  name: "cloudflare-isolate (remote, loopback isolate Worker)",
  create: async () => {
    isolateWorker = await startIsolateWorker({
      token,
      maxCodeBytes: 1024 * 1024,
      maxFilesBytes: 64 * 1024 * 1024,
    });
    return createCloudflareIsolateProvider({ mode: "remote", url: isolateWorker.url.href, token });
  },
  skipCases: {
    "run-code-javascript-timeout":
      "workerd enforces no CPU limit, so a busy loop would hold this loopback isolate Worker forever; on Cloudflare " +
      "the isolate Worker sets each isolate's cpuMs to the run's timeout (local mode's engine pool covers this case)",
  },
});
