import { SandportError } from "@sandport/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createDaytonaProvider, daytonaProviderFactory } from "./daytona-provider.ts";
import { daytonaSettingsSchema } from "./daytona-settings.ts";

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("daytona settings", () => {
  it("constructs without a key and fails at first use with authentication naming the setting and the env var", async () => {
    vi.stubEnv("DAYTONA_API_KEY", "");
    const provider = createDaytonaProvider({
      providerId: "daytona-eu",
      apiUrl: "https://daytona.settings.test/api",
    });
    const error = await provider.create({}).catch((caught: unknown) => caught);
    expect(SandportError.isInstance(error) && error.code).toBe("authentication");
    expect((error as Error).message).toContain("providers.daytona-eu.apiKey");
    expect((error as Error).message).toContain("DAYTONA_API_KEY");
  });

  it("refuses an http: API URL to a remote host with config_invalid, without sending the key", async () => {
    const provider = createDaytonaProvider({
      apiKey: "secret-key-1234",
      apiUrl: "http://daytona.example/api",
    });
    const error = await provider.create({}).catch((caught: unknown) => caught);
    expect(SandportError.isInstance(error) && error.code).toBe("config_invalid");
    expect((error as Error).message).not.toContain("secret-key-1234");
  });

  it("has a strict config schema: unknown keys and bad values are refused", () => {
    expect(daytonaSettingsSchema.safeParse({ apiKey: "k", target: "eu" }).success).toBe(true);
    expect(daytonaSettingsSchema.safeParse({ apiKey: "k", bogus: 1 }).success).toBe(false);
    expect(daytonaSettingsSchema.safeParse({ apiUrl: "ftp://x" }).success).toBe(false);
    expect(daytonaSettingsSchema.safeParse({ defaultTtlMs: -1 }).success).toBe(false);
  });

  it("declares capabilities from the settings without a credential, and diagnoses a missing key", async () => {
    vi.stubEnv("DAYTONA_API_KEY", "");
    const context = { providerId: "daytona-eu" };
    const capabilities = daytonaProviderFactory.capabilities({ target: "eu", maxMemoryMb: 4096 }, context);
    expect(capabilities.regions).toEqual(["us", "eu"]);
    expect(capabilities.limits.maxMemoryMb).toBe(4096);
    expect(capabilities.limits.gpuTypes).toEqual([]);
    const diagnosis = await daytonaProviderFactory.diagnose?.({}, context);
    expect(diagnosis?.usable).toBe(false);
    expect(diagnosis?.problem).toContain("DAYTONA_API_KEY");
  });
});
