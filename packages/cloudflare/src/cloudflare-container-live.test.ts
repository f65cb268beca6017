// The same conformance suite against a real sandbox bridge deployment, only when one is named in the
// environment; otherwise the whole tier is skipped, with the reason in its title. Nothing here runs
// offline, and nothing else in the package's tests touches the network.
import { describeProviderContract } from "@sandport/contract";
import { describe } from "vitest";
import { createCloudflareContainerProvider } from "./cloudflare-container-provider.ts";

const liveUrl = process.env.SANDPORT_LIVE_SANDBOX_BRIDGE_URL ?? "";
const liveToken = process.env.SANDPORT_LIVE_SANDBOX_BRIDGE_TOKEN ?? "";
const live = liveUrl !== "" && liveToken !== "";

describe.skipIf(!live)(
  live
    ? "cloudflare-container live tier (a real sandbox bridge deployment)"
    : "cloudflare-container live tier [skipped: set SANDPORT_LIVE_SANDBOX_BRIDGE_URL and SANDPORT_LIVE_SANDBOX_BRIDGE_TOKEN to run it against a real deployment]",
  () => {
    describeProviderContract({
      name: "cloudflare-container (live sandbox bridge)",
      create: () =>
        createCloudflareContainerProvider({
          providerId: "cloudflare-container",
          url: liveUrl,
          token: liveToken,
        }),
      // Containers start in seconds, not milliseconds, and every call crosses the internet. The
      // sandbox bridge has no list route, so the suite's leak count cannot run here (it says so).
      timeoutScale: 4,
    });
  },
);
