/**
 * Telling a router and its sandboxes apart, in a module of its own: a program that only needs to
 * ask (a CLI printing which backend ran a command) does not load the router with it.
 */
import { decodeSandboxId, type SandboxProvider } from "@sandport/core";

/** The mark every router carries, the same from any copy of this package (a bundled program's included). */
export const routerBrand = Symbol.for("sandport.router");

/** Whether `provider` is a router. */
export function isRouter(provider: unknown): boolean {
  return (
    typeof provider === "object" &&
    provider !== null &&
    (provider as Record<symbol, unknown>)[routerBrand] === true
  );
}

/**
 * The provider that runs `sandboxId`, handed out by `provider`: the one its id names, and for a
 * router's sandbox (`<router>:<provider>:<vendor id>`) the provider inside, which is what audits
 * and results should name.
 */
export function servingProviderId(provider: SandboxProvider, sandboxId: string): string {
  try {
    const outer = decodeSandboxId(sandboxId);
    return isRouter(provider) && outer.providerId === provider.providerId
      ? decodeSandboxId(outer.vendorId).providerId
      : outer.providerId;
  } catch {
    return provider.providerId;
  }
}
