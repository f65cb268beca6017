// The whole conformance suite against the `modal-function` provider and the real `modal` SDK, over
// the gRPC fake of Modal's API with sandport's runner deployed: every exec and runCode is one
// function call (FunctionMap + FunctionGetOutputs, CBOR both ways) whose runner is the shipped
// Python file, run for real in a @sandport/local sandbox. Cases the provider does not declare
// (streaming, background, ports, network modes other than open) skip by its capabilities.
import { describeProviderContract } from "@sandport/contract";
import { afterAll } from "vitest";
import { createModalFunctionProvider } from "./modal-function-provider.ts";
import { createModalFake } from "./testing/index.ts";

const credentials = { tokenId: "ak-function-contract-4e2b", tokenSecret: "as-function-contract-secret-8a1f" };
const modal = await createModalFake(credentials);
Object.assign(process.env, modal.environment);
modal.deployRunner();

afterAll(async () => {
  await modal.close();
});

describeProviderContract({
  name: "modal-function (Modal gRPC fake, shipped runner)",
  create: () => createModalFunctionProvider({ providerId: "modal-function", ...credentials }),
});
