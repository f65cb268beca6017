/** Ids that are well formed for a provider but name no sandbox. */

/**
 * An id like `sandboxId` (same provider, same length, same characters in use) with its last
 * letter or digit changed, so a provider that checks the shape of its vendor ids still accepts it
 * and must answer `not_found`.
 */
export function lookalikeSandboxId(sandboxId: string): string {
  const separator = sandboxId.indexOf(":");
  const vendorId = sandboxId.slice(separator + 1);
  const used = [...new Set(vendorId.match(/[A-Za-z0-9]/g) ?? [])];
  for (let index = vendorId.length - 1; index >= 0; index--) {
    const current = vendorId[index] as string;
    if (!/[A-Za-z0-9]/.test(current)) continue;
    const replacement = used.find((character) => character !== current);
    if (replacement === undefined) break;
    return `${sandboxId.slice(0, separator + 1)}${vendorId.slice(0, index)}${replacement}${vendorId.slice(index + 1)}`;
  }
  // A vendor id of one repeated character: append one instead.
  return `${sandboxId}0`;
}
