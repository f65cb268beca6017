// The whole conformance suite against the real adapter and the real @daytonaio/sdk, over the msw
// fake of the Daytona API whose commands and files are real (one @sandport/local sandbox each).
import { describeProviderContract } from "@sandport/contract";
import { setupServer } from "msw/node";
import { afterAll, beforeAll } from "vitest";
import { createDaytonaProvider } from "./daytona-provider.ts";
import { createDaytonaFake } from "./testing/index.ts";

const apiUrl = "https://daytona.contract.test/api";
const apiKey = "contract-key-7d2e";
const daytona = createDaytonaFake({ apiUrl, apiKey, pageSize: 2 });
const server = setupServer(...daytona.handlers);

beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
afterAll(async () => {
  server.close();
  await daytona.close();
});

describeProviderContract({
  name: "daytona (msw fake of the Daytona API)",
  create: () => createDaytonaProvider({ providerId: "daytona", apiUrl, apiKey, target: "us" }),
});
