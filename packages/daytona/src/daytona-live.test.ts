// The same conformance suite against the real Daytona API, only when credentials for it are in the
// environment; otherwise the whole tier is skipped, with the reason in its title. Nothing else in
// the package's tests touches the network.
import { describeProviderContract } from "@sandport/contract";
import { describe } from "vitest";
import { createDaytonaProvider } from "./daytona-provider.ts";

const apiKey = process.env.SANDPORT_LIVE_DAYTONA_API_KEY ?? "";
const apiUrl = process.env.SANDPORT_LIVE_DAYTONA_API_URL ?? "";
const live = apiKey !== "";

describe.skipIf(!live)(
  live
    ? "daytona live tier (the real Daytona API)"
    : "daytona live tier [skipped: set SANDPORT_LIVE_DAYTONA_API_KEY (and SANDPORT_LIVE_DAYTONA_API_URL for a self-hosted Daytona) to run it]",
  () => {
    describeProviderContract({
      name: "daytona (live)",
      create: () =>
        createDaytonaProvider({ providerId: "daytona", apiKey, ...(apiUrl === "" ? {} : { apiUrl }) }),
      // Sandboxes start in seconds, and every call crosses the internet.
      timeoutScale: 6,
    });
  },
);
