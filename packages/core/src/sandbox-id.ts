/** Sandbox ids are `"<providerId>:<vendor id>"`, so any process can tell which provider owns one. */
import { InvalidRequestError } from "./errors.ts";

/** The two halves of a sandbox id. */
export interface SandboxIdParts {
  providerId: string;
  vendorId: string;
}

const providerIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** True when `name` can be a provider instance name (no `:`; letters, digits, `_.-`). */
export function isValidProviderId(name: string): boolean {
  return providerIdPattern.test(name);
}

/** Builds a sandbox id from its parts. */
export function encodeSandboxId(providerId: string, vendorId: string): string {
  if (!isValidProviderId(providerId)) {
    throw new InvalidRequestError(
      `invalid provider id "${providerId}": use letters, digits, "_", "." or "-"`,
    );
  }
  if (vendorId === "") throw new InvalidRequestError("a vendor sandbox id must not be empty");
  return `${providerId}:${vendorId}`;
}

/** Splits a sandbox id; the vendor part may itself contain `:`. */
export function decodeSandboxId(sandboxId: string): SandboxIdParts {
  const separator = sandboxId.indexOf(":");
  const providerId = sandboxId.slice(0, separator);
  const vendorId = sandboxId.slice(separator + 1);
  if (separator <= 0 || vendorId === "" || !isValidProviderId(providerId)) {
    throw new InvalidRequestError(`invalid sandbox id "${sandboxId}": expected "<providerId>:<vendor id>"`);
  }
  return { providerId, vendorId };
}

/** The vendor part of `sandboxId`, checking that it belongs to `providerId`. */
export function vendorIdFor(providerId: string, sandboxId: string): string {
  const parts = decodeSandboxId(sandboxId);
  if (parts.providerId !== providerId) {
    throw new InvalidRequestError(
      `sandbox id "${sandboxId}" belongs to provider "${parts.providerId}", not "${providerId}"`,
    );
  }
  return parts.vendorId;
}
