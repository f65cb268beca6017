/** The vendor ids a provider instance destroyed, so its handles and `connect` can answer `not_found`. */

/**
 * A bounded record (oldest forgotten first): the sandbox bridge would hand a fresh container to a destroyed
 * id, so this is the only way to refuse one, and a long-running process must not grow without end.
 */
export class DestroyedSandboxes {
  readonly #limit: number;
  readonly #ids = new Set<string>();

  constructor(limit = 10_000) {
    this.#limit = limit;
  }

  /** Records `vendorId` as destroyed. */
  add(vendorId: string): void {
    this.#ids.delete(vendorId);
    this.#ids.add(vendorId);
    if (this.#ids.size > this.#limit) {
      const oldest = this.#ids.values().next().value;
      if (oldest !== undefined) this.#ids.delete(oldest);
    }
  }

  /** Whether `vendorId` was destroyed (and not yet forgotten). */
  has(vendorId: string): boolean {
    return this.#ids.has(vendorId);
  }
}
