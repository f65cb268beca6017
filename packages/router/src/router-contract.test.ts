/**
 * The router is a provider: the whole conformance suite runs through it, over the embedded default
 * (V8 isolates under workerd and the local namespace sandbox; the base request's runtime decides
 * which one serves) and over two real cloudflare-container adapters against sandbox bridge fakes.
 */
import { createCloudflareContainerProvider, createCloudflareIsolateProvider } from "@sandport/cloudflare";
import { createSandboxBridgeFake } from "@sandport/cloudflare/testing";
import { describeProviderContract } from "@sandport/contract";
import { createLocalProvider } from "@sandport/local";
import { setupServer } from "msw/node";
import { afterAll, beforeAll } from "vitest";
import { createRouter } from "./router.ts";

function embeddedDefault() {
  return createRouter({
    providers: [
      createCloudflareIsolateProvider({ providerId: "edge", mode: "local" }),
      createLocalProvider({}),
    ],
  });
}

describeProviderContract({
  name: "router over the embedded default (shell: local)",
  create: embeddedDefault,
  request: { runtime: "shell" },
});

const token = "router-contract-token";
const bridges = [
  createSandboxBridgeFake({ url: "https://router-bridge-one.test", token }),
  createSandboxBridgeFake({ url: "https://router-bridge-two.test", token }),
];
const server = setupServer(...bridges.flatMap((bridge) => bridge.handlers));
beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
afterAll(async () => {
  server.close();
  await Promise.all(bridges.map((bridge) => bridge.close()));
});

describeProviderContract({
  name: "router over two sandbox bridges",
  create: () =>
    createRouter({
      providers: [
        createCloudflareContainerProvider({
          providerId: "one",
          url: "https://router-bridge-one.test",
          token,
        }),
        createCloudflareContainerProvider({
          providerId: "two",
          url: "https://router-bridge-two.test",
          token,
        }),
      ],
    }),
  countLiveSandboxes: async () => {
    const counts = await Promise.all(bridges.map((bridge) => bridge.countLiveSandboxes()));
    return counts.reduce((sum, count) => sum + count, 0);
  },
});
