import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createVercelFake } from "./testing/index.ts";
import { createVercelProvider, vercelProviderFactory } from "./vercel-provider.ts";
import { resolveVercelCredentials, vercelSettingsSchema } from "./vercel-settings.ts";

const credentials = { token: "settings-token-91c2", teamId: "team_settings", projectId: "prj_settings" };
const vercel = createVercelFake(credentials);
const server = setupServer(...vercel.handlers);

beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
afterEach(() => {
  vi.unstubAllEnvs();
  vercel.clearCalls();
});
afterAll(async () => {
  server.close();
  await vercel.close();
});

describe("vercel settings", () => {
  it("accepts the documented settings and refuses unknown keys", () => {
    expect(
      vercelSettingsSchema.safeParse({ ...credentials, regions: ["iad1"], maxTimeoutMs: 1000 }).success,
    ).toBe(true);
    expect(vercelSettingsSchema.safeParse({ tokn: "x" }).success).toBe(false);
    expect(vercelSettingsSchema.safeParse({ regions: ["US East"] }).success).toBe(false);
  });

  it("reads missing credentials from VERCEL_TOKEN, VERCEL_TEAM_ID and VERCEL_PROJECT_ID", () => {
    vi.stubEnv("VERCEL_TOKEN", "from-env-token");
    vi.stubEnv("VERCEL_TEAM_ID", "team_env");
    vi.stubEnv("VERCEL_PROJECT_ID", "prj_env");
    expect(resolveVercelCredentials({ teamId: "team_setting" }, "vercel")).toEqual({
      token: "from-env-token",
      teamId: "team_setting",
      projectId: "prj_env",
    });
  });

  it("names each missing setting and its environment variable, never a value", () => {
    vi.stubEnv("VERCEL_TOKEN", "");
    vi.stubEnv("VERCEL_TEAM_ID", "");
    vi.stubEnv("VERCEL_PROJECT_ID", "");
    let caught: unknown;
    try {
      resolveVercelCredentials({ token: "only-the-secret-token" }, "preview");
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: "authentication", providerId: "preview" });
    const message = (caught as Error).message;
    expect(message).toContain("providers.preview.teamId");
    expect(message).toContain("VERCEL_TEAM_ID");
    expect(message).toContain("providers.preview.projectId");
    expect(message).toContain("VERCEL_PROJECT_ID");
    expect(message).not.toContain("only-the-secret-token");
  });

  it("constructs without credentials, and the first call fails fast without any request or login", async () => {
    vi.stubEnv("VERCEL_TOKEN", "");
    vi.stubEnv("VERCEL_TEAM_ID", "");
    vi.stubEnv("VERCEL_PROJECT_ID", "");
    vi.stubEnv("VERCEL_OIDC_TOKEN", "");
    // The SDK starts its device login only in a terminal: pretend to be one.
    const stdin = Object.getOwnPropertyDescriptor(process.stdin, "isTTY");
    const stdout = Object.getOwnPropertyDescriptor(process.stdout, "isTTY");
    Object.defineProperty(process.stdin, "isTTY", { value: true, configurable: true });
    Object.defineProperty(process.stdout, "isTTY", { value: true, configurable: true });
    try {
      const provider = createVercelProvider();
      await expect(provider.create({})).rejects.toMatchObject({
        code: "authentication",
        providerId: "vercel",
      });
      await expect(provider.connect("vercel:sbx-1")).rejects.toMatchObject({ code: "authentication" });
      const listing = async () => {
        for await (const _ of provider.list()) {
          // nothing
        }
      };
      await expect(listing()).rejects.toMatchObject({ code: "authentication" });
      expect(vercel.calls).toEqual([]);
    } finally {
      if (stdin === undefined) delete (process.stdin as { isTTY?: boolean }).isTTY;
      else Object.defineProperty(process.stdin, "isTTY", stdin);
      if (stdout === undefined) delete (process.stdout as { isTTY?: boolean }).isTTY;
      else Object.defineProperty(process.stdout, "isTTY", stdout);
    }
  });

  it("refuses a token that cannot travel in a header, without echoing it", () => {
    expect(() => resolveVercelCredentials({ ...credentials, token: "bad token\n" }, "vercel")).toThrow(
      expect.objectContaining({ code: "config_invalid" }),
    );
  });

  it("has a factory whose capabilities and diagnosis need no credential value", async () => {
    vi.stubEnv("VERCEL_TOKEN", "");
    vi.stubEnv("VERCEL_TEAM_ID", "");
    vi.stubEnv("VERCEL_PROJECT_ID", "");
    const context = { providerId: "preview" };
    expect(vercelProviderFactory.type).toBe("vercel");
    expect(vercelProviderFactory.capabilities({ regions: ["fra1"] }, context).regions).toEqual(["fra1"]);
    const missing = await vercelProviderFactory.diagnose?.({}, context);
    expect(missing).toMatchObject({ usable: false });
    expect(missing?.problem).toContain("VERCEL_TOKEN");
    const ready = await vercelProviderFactory.diagnose?.(credentials, context);
    expect(ready).toMatchObject({ usable: true });
    expect(JSON.stringify(ready)).not.toContain(credentials.token);
    expect(vercelProviderFactory.create(credentials, context).providerId).toBe("preview");
  });
});
