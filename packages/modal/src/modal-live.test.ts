// The same conformance suite against the real Modal API, only when credentials for it are in the
// environment; otherwise the whole tier is skipped, with the reason in its title. Nothing else in
// the package's tests touches the network.
import { describeProviderContract } from "@sandport/contract";
import { describe } from "vitest";
import { createModalFunctionProvider } from "./modal-function-provider.ts";
import { createModalSandboxProvider } from "./modal-sandbox-provider.ts";

const tokenId = process.env.SANDPORT_LIVE_MODAL_TOKEN_ID ?? "";
const tokenSecret = process.env.SANDPORT_LIVE_MODAL_TOKEN_SECRET ?? "";
const live = tokenId !== "" && tokenSecret !== "";

describe.skipIf(!live)(
  live
    ? "modal live tier (the real Modal API)"
    : "modal live tier [skipped: set SANDPORT_LIVE_MODAL_TOKEN_ID and SANDPORT_LIVE_MODAL_TOKEN_SECRET to run it]",
  () => {
    describeProviderContract({
      name: "modal-sandbox (live)",
      create: () =>
        createModalSandboxProvider({
          providerId: "modal-sandbox",
          tokenId,
          tokenSecret,
          appName: "sandport-contract",
        }),
      // Containers start in about two seconds and every call crosses the internet.
      timeoutScale: 6,
    });
  },
);

// modal-function needs sandport's runner deployed in the token's workspace
// (`modal deploy runner/sandport_runner.py`); a missing one fails create with not_found naming it.
describe.skipIf(!live)(
  live
    ? "modal-function live tier (the real Modal API, the deployed runner)"
    : "modal-function live tier [skipped: set SANDPORT_LIVE_MODAL_TOKEN_ID and SANDPORT_LIVE_MODAL_TOKEN_SECRET to run it]",
  () => {
    describeProviderContract({
      name: "modal-function (live)",
      create: () => createModalFunctionProvider({ providerId: "modal-function", tokenId, tokenSecret }),
      // Each exec is a function call over the internet, the first one a cold start.
      timeoutScale: 6,
    });
  },
);
