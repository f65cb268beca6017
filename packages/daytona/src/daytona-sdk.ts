/**
 * Loads `@daytonaio/sdk` when a provider first needs a client, not when the package is imported:
 * the SDK pulls in the AWS SDK and OpenTelemetry (about 400 ms and 100 MB), which a process that
 * only registers or configures the `daytona` type never uses.
 */

/** The SDK module. */
export type DaytonaSdk = typeof import("@daytonaio/sdk");

let loading: Promise<DaytonaSdk> | undefined;
let loaded: DaytonaSdk | undefined;

/** The SDK, imported once per process (a failed import is tried again at the next call). */
export function loadDaytonaSdk(): Promise<DaytonaSdk> {
  loading ??= import("@daytonaio/sdk").then(
    (sdk) => {
      loaded = sdk;
      return sdk;
    },
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  return loading;
}

/**
 * The SDK if it has been loaded, else undefined. Every SDK error comes from a client, and no client
 * exists before the SDK is loaded, so error mapping needs no more than this.
 */
export function loadedDaytonaSdk(): DaytonaSdk | undefined {
  return loaded;
}
