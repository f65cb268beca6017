import { describe, expect, it } from "vitest";
import { InvalidRequestError } from "./errors.ts";
import { decodeSandboxId, encodeSandboxId, isValidProviderId, vendorIdFor } from "./sandbox-id.ts";

function expectInvalidRequest(action: () => unknown, fragment: string): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(InvalidRequestError.isInstance(caught), String(caught)).toBe(true);
  expect((caught as InvalidRequestError).code).toBe("invalid_request");
  expect((caught as InvalidRequestError).message).toContain(fragment);
}

describe("sandbox ids", () => {
  it("encodes as <providerId>:<vendor id>", () => {
    expect(encodeSandboxId("daytona-eu", "ws-123")).toBe("daytona-eu:ws-123");
  });

  it.each([
    ["local", "0b7f"],
    ["daytona-eu", "ws-123"],
    ["edge_1.test", "a"],
    ["modal", "sb-XYZ_0"],
  ])("decodes what it encoded (%s, %s)", (providerId, vendorId) => {
    expect(decodeSandboxId(encodeSandboxId(providerId, vendorId))).toEqual({ providerId, vendorId });
  });

  it("keeps a vendor id that itself contains ':' intact", () => {
    const id = encodeSandboxId("cf", "namespace:object:42");
    expect(id).toBe("cf:namespace:object:42");
    expect(decodeSandboxId(id)).toEqual({ providerId: "cf", vendorId: "namespace:object:42" });
  });

  it.each([
    ["has no separator", "local"],
    ["has an empty provider id", ":abc"],
    ["has an empty vendor id", "local:"],
    ["is empty", ""],
    ["has a provider id with a space", "my provider:abc"],
    ["has a provider id starting with a dash", "-local:abc"],
  ])("rejects an id that %s", (_case, sandboxId) => {
    expectInvalidRequest(() => decodeSandboxId(sandboxId), "invalid sandbox id");
  });

  it("refuses to encode an invalid provider id", () => {
    expectInvalidRequest(() => encodeSandboxId("a:b", "x"), 'invalid provider id "a:b"');
    expectInvalidRequest(() => encodeSandboxId("", "x"), "invalid provider id");
  });

  it("refuses to encode an empty vendor id", () => {
    expectInvalidRequest(() => encodeSandboxId("local", ""), "must not be empty");
  });

  it("validates provider ids: letters, digits, _ . - and no leading punctuation", () => {
    expect(isValidProviderId("daytona-eu")).toBe(true);
    expect(isValidProviderId("a.b_c-1")).toBe(true);
    expect(isValidProviderId("9")).toBe(true);
    expect(isValidProviderId("a:b")).toBe(false);
    expect(isValidProviderId(".hidden")).toBe(false);
    expect(isValidProviderId("")).toBe(false);
  });
});

describe("vendorIdFor", () => {
  it("returns the vendor part of an id that belongs to the provider", () => {
    expect(vendorIdFor("modal", "modal:sb-1:2")).toBe("sb-1:2");
  });

  it("rejects an id owned by another provider, naming both providers", () => {
    let caught: unknown;
    try {
      vendorIdFor("daytona-us", "daytona-eu:ws-1");
    } catch (error) {
      caught = error;
    }
    expect(InvalidRequestError.isInstance(caught)).toBe(true);
    const message = (caught as Error).message;
    expect(message).toContain('"daytona-eu"');
    expect(message).toContain('"daytona-us"');
  });

  it("rejects a provider id that is only a prefix of the owner's", () => {
    expectInvalidRequest(() => vendorIdFor("daytona", "daytona-eu:ws-1"), "belongs to provider");
  });

  it("rejects a malformed id", () => {
    expectInvalidRequest(() => vendorIdFor("local", "no-separator"), "invalid sandbox id");
  });
});
