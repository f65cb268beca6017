/** Bounds one await, so a case fails with what it was waiting for instead of at the runner's timeout. */

/** The error of an await that did not settle in time; its message says what was awaited. */
export class DeadlineExceededError extends Error {
  constructor(what: string, milliseconds: number) {
    super(`deadline: ${what} did not settle within ${Math.round(milliseconds)} ms`);
    this.name = "DeadlineExceededError";
  }
}

/**
 * Resolves or rejects as `promise` does, or rejects with {@link DeadlineExceededError} naming
 * `what` once `milliseconds` pass first. The promise keeps running; its late rejection is
 * swallowed so it cannot surface as an unhandled rejection in an unrelated test.
 */
export function withDeadline<T>(promise: PromiseLike<T>, milliseconds: number, what: string): Promise<T> {
  const pending = Promise.resolve(promise);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => {
        pending.catch(() => {});
        reject(new DeadlineExceededError(what, milliseconds));
      },
      Math.max(0, milliseconds),
    );
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
