/** Label filters of `list`, applied the same way by every adapter that filters on its side. */

/** Whether `labels` carry every label of `filter` (an empty or absent filter matches all). */
export function matchesLabels(
  labels: Readonly<Record<string, string>>,
  filter: Readonly<Record<string, string>> | undefined,
): boolean {
  if (filter === undefined) return true;
  return Object.entries(filter).every(([key, value]) => Object.hasOwn(labels, key) && labels[key] === value);
}
