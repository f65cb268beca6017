// The same conformance suite against the real Modal API, only when credentials for it are in the
// environment; otherwise the whole tier is skipped, with the reason in its title. Nothing else in
// the package's tests touches the network.
import { describeProviderContract } from "@sandport/contract";
import { describe } from "vitest";
import { createModalProvider } from "./modal-provider.ts";

const tokenId = process.env.SANDPORT_LIVE_MODAL_TOKEN_ID ?? "";
const tokenSecret = process.env.SANDPORT_LIVE_MODAL_TOKEN_SECRET ?? "";
const live = tokenId !== "" && tokenSecret !== "";

describe.skipIf(!live)(
  live
    ? "modal live tier (the real Modal API)"
    : "modal live tier [skipped: set SANDPORT_LIVE_MODAL_TOKEN_ID and SANDPORT_LIVE_MODAL_TOKEN_SECRET to run it]",
  () => {
    describeProviderContract({
      name: "modal (live)",
      create: () =>
        createModalProvider({ providerId: "modal", tokenId, tokenSecret, appName: "sandport-contract" }),
      // Containers start in about two seconds and every call crosses the internet.
      timeoutScale: 6,
    });
  },
);
