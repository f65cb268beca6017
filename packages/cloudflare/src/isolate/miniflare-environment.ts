/**
 * miniflare takes workerd's binary and V8 flags only from environment variables, read while it
 * starts workerd. These helpers set them for the duration of a start and restore them afterwards.
 * Starts wanting the same values run together; starts wanting other values wait their turn. A
 * variable the user set before sandport touched it is left alone.
 */

/** The variables sandport sets. */
export type MiniflareVariables = Partial<
  Record<"MINIFLARE_WORKERD_PATH" | "MINIFLARE_WORKERD_V8_FLAGS", string>
>;

interface ActiveSet {
  key: string;
  holders: number;
  saved: Record<string, string | undefined>;
  drained: Promise<void>;
  onDrained: () => void;
}

let active: ActiveSet | undefined;

function activate(variables: MiniflareVariables, key: string): ActiveSet {
  let onDrained = () => {};
  const drained = new Promise<void>((resolve) => {
    onDrained = resolve;
  });
  const saved: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(variables)) {
    if (process.env[name] !== undefined) continue;
    saved[name] = process.env[name];
    process.env[name] = value;
  }
  return { key, holders: 0, saved, drained, onDrained };
}

/** Runs `start` with `variables` set in `process.env`. */
export async function withMiniflareEnvironment<T>(
  variables: MiniflareVariables,
  start: () => Promise<T>,
): Promise<T> {
  const key = JSON.stringify(Object.entries(variables).sort());
  while (active !== undefined && active.key !== key) await active.drained;
  active ??= activate(variables, key);
  const set = active;
  set.holders += 1;
  try {
    return await start();
  } finally {
    set.holders -= 1;
    if (set.holders === 0) {
      for (const [name, value] of Object.entries(set.saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      active = undefined;
      set.onDrained();
    }
  }
}
