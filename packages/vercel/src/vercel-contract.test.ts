// The whole conformance suite against the real adapter and the real @vercel/sandbox SDK, over the
// msw fake of the Vercel API whose commands and files are real (one @sandport/local sandbox per session).
import { describeProviderContract } from "@sandport/contract";
import { setupServer } from "msw/node";
import { afterAll, beforeAll } from "vitest";
import { createVercelFake } from "./testing/index.ts";
import { createVercelProvider } from "./vercel-provider.ts";

const credentials = { token: "contract-token-7f3a", teamId: "team_contract", projectId: "prj_contract" };
const vercel = createVercelFake(credentials);
const server = setupServer(...vercel.handlers);

beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
afterAll(async () => {
  server.close();
  await vercel.close();
});

describeProviderContract({
  name: "vercel (Vercel API fake)",
  create: () => createVercelProvider({ providerId: "vercel", ...credentials }),
  // Vercel routes only ports declared at create: the ones the port cases listen on.
  request: { providerOptions: { vercel: { ports: [8123, 8124] } } },
  countLiveSandboxes: () => vercel.countLiveSandboxes(),
});
