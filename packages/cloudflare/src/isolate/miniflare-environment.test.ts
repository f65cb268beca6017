import { afterEach, describe, expect, it } from "vitest";
import { withMiniflareEnvironment } from "./miniflare-environment.ts";

const name = "MINIFLARE_WORKERD_V8_FLAGS";

afterEach(() => {
  delete process.env[name];
});

describe("withMiniflareEnvironment", () => {
  it("sets the variables while a start runs and restores them afterwards", async () => {
    let seen: string | undefined;
    await withMiniflareEnvironment({ [name]: "--flag-a" }, async () => {
      seen = process.env[name];
    });
    expect(seen).toBe("--flag-a");
    expect(process.env[name]).toBeUndefined();
  });

  it("runs starts with other values one after another, each seeing its own", async () => {
    const seen: string[] = [];
    let release: () => void = () => {};
    const first = withMiniflareEnvironment({ [name]: "--first" }, async () => {
      seen.push(`first saw ${process.env[name]}`);
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      seen.push(`first still saw ${process.env[name]}`);
    });
    const second = withMiniflareEnvironment({ [name]: "--second" }, async () => {
      seen.push(`second saw ${process.env[name]}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    await Promise.all([first, second]);
    expect(seen).toEqual(["first saw --first", "first still saw --first", "second saw --second"]);
    expect(process.env[name]).toBeUndefined();
  });

  it("leaves a value the user set alone", async () => {
    process.env[name] = "--users-own";
    await withMiniflareEnvironment({ [name]: "--ours" }, async () => {
      expect(process.env[name]).toBe("--users-own");
    });
    expect(process.env[name]).toBe("--users-own");
  });
});
