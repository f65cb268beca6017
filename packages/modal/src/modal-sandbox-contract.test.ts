// The whole conformance suite against the real adapter and the real `modal` SDK, over the gRPC
// fake of Modal's API whose commands and files are real (one @sandport/local sandbox per Modal
// sandbox). The SDK is imported by the provider at its first call, after the environment below
// points it at the fake and away from ~/.modal.toml.
import { describeProviderContract } from "@sandport/contract";
import { afterAll } from "vitest";
import { createModalSandboxProvider } from "./modal-sandbox-provider.ts";
import { createModalFake } from "./testing/index.ts";

const credentials = { tokenId: "ak-contract-7f3a", tokenSecret: "as-contract-secret-9c1d" };
const modal = await createModalFake(credentials);
Object.assign(process.env, modal.environment);

afterAll(async () => {
  await modal.close();
});

describeProviderContract({
  name: "modal-sandbox (Modal gRPC fake)",
  create: () => createModalSandboxProvider({ providerId: "modal-sandbox", ...credentials }),
  countLiveSandboxes: () => modal.countLiveSandboxes(),
});
