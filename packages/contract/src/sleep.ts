/** A timer promise that needs no `node:` import, so the suite also loads outside Node. */
export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
