/**
 * What a pull request asks for: the entries its head adds to the base. Entries are compared as
 * a multiset by canonical secret name, environment, duration text, reason and break-glass, so a head that
 * keeps one copy of an entry and adds a second copy adds one; a changed entry (a new duration,
 * say) counts as added; removing entries asks for nothing. Pure.
 */
import { canonicalSecretName } from "../policy/secret-name.js";
import type { RequestEntry } from "./parse-requests.js";

/** Head entries without an identical base entry to pair with, in head order. */
export function addedEntries(base: readonly RequestEntry[], head: readonly RequestEntry[]): RequestEntry[] {
  return unmatched(head, base);
}

/** Base entries without an identical head entry to pair with, in base order. */
export function removedEntries(base: readonly RequestEntry[], head: readonly RequestEntry[]): RequestEntry[] {
  return unmatched(base, head);
}

function unmatched(entries: readonly RequestEntry[], against: readonly RequestEntry[]): RequestEntry[] {
  const available = new Map<string, number>();
  for (const entry of against) available.set(identity(entry), (available.get(identity(entry)) ?? 0) + 1);
  return entries.filter((entry) => {
    const key = identity(entry);
    const count = available.get(key) ?? 0;
    if (count === 0) return true;
    available.set(key, count - 1);
    return false;
  });
}

function identity(entry: RequestEntry): string {
  return JSON.stringify([canonicalSecretName(entry.secret), entry.environment, entry.duration, entry.reason, entry.breakGlass]);
}
