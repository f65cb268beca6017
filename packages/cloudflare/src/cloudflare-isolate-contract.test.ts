import { describeProviderContract } from "@sandport/contract";
import { afterAll } from "vitest";
import { createCloudflareIsolateProvider } from "./cloudflare-isolate-provider.ts";
import { type BridgeWorkerInstance, startBridgeWorker } from "./isolate/bridge-worker.ts";

// Local mode: the bridge Worker under workerd in this process's engine pool.
const local = createCloudflareIsolateProvider({ mode: "local" });
afterAll(() => local.dispose());
describeProviderContract({ name: "cloudflare-isolate (local)", create: () => local });

// Remote mode: the same Worker served on loopback, reached over HTTP with its bearer token.
const token = "contract-token-0123456789";
let bridge: BridgeWorkerInstance | undefined;
afterAll(() => bridge?.dispose());
describeProviderContract({
  name: "cloudflare-isolate (remote, loopback bridge)",
  create: async () => {
    bridge = await startBridgeWorker({ token, maxCodeBytes: 1024 * 1024, maxFilesBytes: 64 * 1024 * 1024 });
    return createCloudflareIsolateProvider({ mode: "remote", url: bridge.url.href, token });
  },
  skipCases: {
    "run-code-javascript-timeout":
      "workerd enforces no CPU limit, so a busy loop would hold this loopback bridge forever; on Cloudflare " +
      "the bridge sets each isolate's cpuMs to the run's timeout (local mode's engine pool covers this case)",
  },
});
