// The whole conformance suite against the real adapter, over the msw fake of the sandbox bridge whose
// commands and files are real (one @sandport/local sandbox per container).
import { describeProviderContract } from "@sandport/contract";
import { setupServer } from "msw/node";
import { afterAll, beforeAll } from "vitest";
import { createCloudflareContainerProvider } from "./cloudflare-container-provider.ts";
import { createSandboxBridgeFake } from "./testing/index.ts";

const url = "https://sandbox-bridge.contract.test";
const token = "contract-token-4b1d";
const bridge = createSandboxBridgeFake({ url, token });
const server = setupServer(...bridge.handlers);

beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
afterAll(async () => {
  server.close();
  await bridge.close();
});

describeProviderContract({
  name: "cloudflare-container (sandbox bridge fake)",
  create: () => createCloudflareContainerProvider({ providerId: "cloudflare-container", url, token }),
  // The sandbox bridge has no list route: the fake counts the containers it assigned.
  countLiveSandboxes: () => bridge.countLiveSandboxes(),
});
