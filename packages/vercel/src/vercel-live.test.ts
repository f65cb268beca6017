// The same conformance suite against the real Vercel API, only when credentials for it are in the
// environment; otherwise the whole tier is skipped, with the reason in its title. Nothing else in
// the package's tests touches the network.
import { describeProviderContract } from "@sandport/contract";
import { describe } from "vitest";
import { createVercelProvider } from "./vercel-provider.ts";

const token = process.env.SANDPORT_LIVE_VERCEL_TOKEN ?? "";
const teamId = process.env.SANDPORT_LIVE_VERCEL_TEAM_ID ?? "";
const projectId = process.env.SANDPORT_LIVE_VERCEL_PROJECT_ID ?? "";
const live = token !== "" && teamId !== "" && projectId !== "";

describe.skipIf(!live)(
  live
    ? "vercel live tier (the real Vercel API)"
    : "vercel live tier [skipped: set SANDPORT_LIVE_VERCEL_TOKEN, SANDPORT_LIVE_VERCEL_TEAM_ID and SANDPORT_LIVE_VERCEL_PROJECT_ID to run it]",
  () => {
    describeProviderContract({
      name: "vercel (live)",
      create: () => createVercelProvider({ providerId: "vercel", token, teamId, projectId }),
      // microVMs start in under a second, but every call crosses the internet.
      timeoutScale: 4,
    });
  },
);
