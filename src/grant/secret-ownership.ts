/**
 * Whose is the secret a grant is about to write? The app owns only what it wrote: before a PUT it
 * looks at the secret's metadata (GitHub never returns a value, so an overwritten or deleted
 * secret cannot be brought back) and at the ledger. Pure: what the ledger and GitHub said in,
 * what to do out.
 *
 * - A live grant whose secret was written holds the secret, and it is there: **keep** its value.
 *   A later grant never changes what an earlier grantee's workflow reads; the new grant holds the
 *   same value until the last holder ends.
 * - The secret is absent, or it is the app's own (its `updated_at` is a write mark the ledger
 *   recorded, or a live grant's PUT may have landed unrecorded): **write** it.
 * - Anything else was put there by someone else: **refuse**, and touch nothing.
 */
import type { SecretMetadata } from "../github/repo-client.js";
import { holdsSecret } from "../ledger/grant-states.js";
import type { Grant } from "../ledger/store.js";

export type WritePlan =
  /** `holder` (live, written) keeps the secret there: the grant takes that value as it is. */
  | { kind: "keep"; holder: Grant; present: SecretMetadata }
  /** Absent, or the app's own: PUT it. */
  | { kind: "write" }
  /** Someone else's secret: the grant fails with `why`, and nothing is written or deleted. */
  | { kind: "refuse"; why: string };

export interface OwnershipFacts {
  /** The grant about to be written. */
  grant: Grant;
  /** The live grants of the same secret in the same environment (the grant itself may be among them). */
  live: readonly Grant[];
  /** The secret's metadata now, or null when it is absent. */
  present: SecretMetadata | null;
  /** The grant whose recorded write mark equals `present.updatedAt` (`findWriteMark`), or null. */
  recorded: Grant | null;
}

export function planSecretWrite({ grant, live, present, recorded }: OwnershipFacts): WritePlan {
  const holder = live.find((other) => other.id !== grant.id && holdsSecret(other));
  if (present === null) return { kind: "write" };
  if (holder !== undefined) return { kind: "keep", holder, present };
  // A PUT whose answer was lost and whose undoing failed leaves a secret with no mark: the app's.
  const mayBeOurs = live.some((other) => other.secretWrite === "uncertain");
  if (recorded !== null || mayBeOurs) return { kind: "write" };
  return { kind: "refuse", why: notManagedReason(grant.secret, grant.environment) };
}

/** Whether `planSecretWrite` needs the ledger's write marks for these facts (the lookup is skipped otherwise). */
export function needsWriteMark(grant: Grant, live: readonly Grant[], present: SecretMetadata | null): boolean {
  return present !== null && !live.some((other) => (other.id !== grant.id && holdsSecret(other)) || other.secretWrite === "uncertain");
}

/** Why a grant is refused when its secret exists and is not the app's. */
export function notManagedReason(secret: string, environment: string): string {
  return `a secret named ${secret} already exists in ${environment} and is not managed by jit-access; remove it or rename the catalog entry`;
}
