/**
 * Whether `/jit extend` may move one grant's expiry, and to when. Pure: the grant, its
 * extensions so far, the catalog entry and the clock reading in, a verdict out.
 *
 * Only the requester, only while the grant is active and not yet expired, only where the
 * catalog entry has `extension`, by at most its `max`, at most `times` times, and never past the
 * catalog's `max_duration` counted from the grant's first write.
 */
import type { Grant } from "../ledger/store.js";
import type { CatalogSecret } from "../policy/catalog.js";
import { formatDuration } from "../util/duration.js";

export type ExtensionVerdict = { ok: true; expiresAt: Date; times: number } | { ok: false; why: string };

export interface ExtensionInput {
  grant: Grant;
  /** How many times the grant was extended already. */
  extensions: number;
  /** The grant's catalog entry; undefined when the catalog no longer has it. */
  secret: CatalogSecret | undefined;
  /** How much later the expiry is asked to be. */
  byMs: number;
  /** Who asked (GitHub user id). */
  askedBy: number;
  now: number;
}

export function decideExtension({ grant, extensions, secret, byMs, askedBy, now }: ExtensionInput): ExtensionVerdict {
  if (askedBy !== grant.requester.id) return { ok: false, why: `only the requester, @${grant.requester.login}, may extend a grant` };
  if (grant.state !== "active" || grant.expiresAt.getTime() <= now) return { ok: false, why: "the grant is not live" };
  const extension = secret?.extension;
  if (secret === undefined || extension === undefined) return { ok: false, why: "the catalog does not allow extending this secret" };
  if (extensions >= extension.times) {
    return {
      ok: false,
      why: `the grant was extended ${extensions === 1 ? "once" : `${extensions} times`}, the most the catalog allows`,
    };
  }
  if (byMs > extension.maxMs) return { ok: false, why: `the catalog allows at most ${formatDuration(extension.maxMs)} per extension` };
  // The first write started the access (markActive counts from an earlier uncertain write too).
  const firstWrite = (grant.grantedAt ?? grant.createdAt).getTime();
  const cap = firstWrite + secret.maxDurationMs;
  const expiresAt = grant.expiresAt.getTime() + byMs;
  if (expiresAt > cap) {
    const left = cap - grant.expiresAt.getTime();
    const limit = `the catalog's max_duration of ${formatDuration(secret.maxDurationMs)} from the first write`;
    return {
      ok: false,
      why: left < 1000 ? `the grant already ends at ${limit}` : `at most ${formatDuration(left)} more fits within ${limit}`,
    };
  }
  return { ok: true, expiresAt: new Date(expiresAt), times: extension.times };
}
