// Nothing is left behind: a create the caller aborted, and a sandbox whose create answer failed a
// later check, end destroyed; the fake's live-sandbox count says so.
import { SandportError } from "@sandport/core";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createVercelFake, type VercelRoute } from "./testing/index.ts";
import { createVercelProvider } from "./vercel-provider.ts";

const credentials = { token: "lifecycle-token-41aa", teamId: "team_lifecycle", projectId: "prj_lifecycle" };
const vercel = createVercelFake(credentials);
const server = setupServer(...vercel.handlers);
const provider = createVercelProvider({ providerId: "vercel", ...credentials });

beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
afterEach(() => {
  vercel.clearFaults();
  vercel.clearCalls();
});
afterAll(async () => {
  server.close();
  await vercel.close();
});

async function failure(call: () => Promise<unknown>): Promise<SandportError> {
  const caught = await call().then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(SandportError.isInstance(caught), `expected a SandportError, got ${String(caught)}`).toBe(true);
  const error = caught as SandportError;
  expect(`${error.message} ${JSON.stringify(error)} ${String(error)}`).not.toContain(credentials.token);
  return error;
}

function callsTo(route: VercelRoute) {
  return vercel.calls.filter((call) => call.route === route);
}

describe("vercel lifecycle", () => {
  it("rejects with aborted when the caller aborts mid-create, and destroys the sandbox the request still made", async () => {
    vercel.failNext({ kind: "slow", delayMs: 1_500 }, { route: "create" });
    const controller = new AbortController();
    const creating = provider.create({}, { signal: controller.signal });
    // The request has reached the fake and is being held there.
    await vi.waitFor(() => expect(callsTo("create")).toHaveLength(1), { timeout: 5_000 });
    controller.abort(new Error("caller gave up"));
    const error = await failure(() => creating);
    expect(error).toMatchObject({ code: "aborted", providerId: "vercel" });
    // The fake still made the sandbox (as Vercel may after a dropped connection); the adapter
    // deletes it once the answer arrives.
    await vi.waitFor(
      () => {
        expect(callsTo("delete")).toHaveLength(1);
        expect(vercel.sandboxNames()).toEqual([]);
      },
      { timeout: 10_000 },
    );
    expect(await vercel.countLiveSandboxes()).toBe(0);
  }, 20_000);

  it("sends nothing when the signal is aborted before create", async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await failure(() => provider.create({}, { signal: controller.signal }))).toMatchObject({
      code: "aborted",
    });
    expect(vercel.calls).toHaveLength(0);
  });

  it("destroys a sandbox whose create answer lacks the route of a declared port, and says provider_unavailable", async () => {
    vercel.failNext({ kind: "missing-routes" }, { route: "create" });
    const error = await failure(() => provider.create({ providerOptions: { vercel: { ports: [3000] } } }));
    expect(error).toMatchObject({ code: "provider_unavailable", providerId: "vercel" });
    expect(error.message).toContain("3000");
    expect(callsTo("create")).toHaveLength(1);
    // DELETE stops the session first: one request ends it.
    expect(callsTo("delete")).toHaveLength(1);
    expect(await vercel.countLiveSandboxes()).toBe(0);
    expect(vercel.sandboxNames()).toEqual([]);
  });
});
