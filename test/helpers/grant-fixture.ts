import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Grant, LedgerStore, NewGrant } from "../../src/ledger/store.js";

/**
 * Grants for expiry, revocation and CLI tests: `grantFixture()` builds a NewGrant with
 * realistic defaults (acme/api, production, PROD_DB_URL, PR #7, installation 42, two hours from
 * `createdAt`); `seedGrant()` writes one to a ledger in the state a test needs.
 */
let sequence = 0;

export function grantFixture(overrides: Partial<NewGrant> = {}): NewGrant {
  sequence += 1;
  const createdAt = overrides.createdAt ?? new Date("2026-03-01T08:00:00Z");
  const durationMs = overrides.durationMs ?? 2 * 3_600_000;
  const base: NewGrant = {
    installationId: 42,
    owner: "acme",
    repo: "api",
    environment: "production",
    secret: "PROD_DB_URL",
    requester: { id: 101, login: "alice" },
    prNumber: 7,
    headSha: "a".repeat(40),
    approvers: [{ id: 202, login: "bob" }],
    reason: "INC-4211: inspect stuck migrations",
    durationMs,
    requestKey: `fixture-${sequence}`,
    createdAt,
    expiresAt: new Date(createdAt.getTime() + durationMs),
  };
  return { ...base, ...overrides };
}

/**
 * A ledger row of an active, written grant, for tests of pure code that read grants (decisions,
 * comments, reports): `grantFixture()`'s defaults (its expiry from `createdAt` and `durationMs`),
 * granted when created, with `overrides` last.
 */
export function activeGrant(overrides: Partial<Grant> = {}): Grant {
  const fixture = grantFixture({
    ...(overrides.createdAt && { createdAt: overrides.createdAt }),
    ...(overrides.durationMs !== undefined && { durationMs: overrides.durationMs }),
  });
  const row: Grant = {
    ...fixture,
    id: "grant-1",
    repositoryId: 1,
    mergeBaseSha: null,
    requestDigest: null,
    grantedAt: fixture.createdAt,
    endedAt: null,
    state: "active",
    endReason: null,
    revokeAttempts: 0,
    nextAttemptAt: null,
    lastError: null,
    pendingEnd: null,
    writeUncertainAt: null,
    secretWrite: "written",
    secretUpdatedAt: null,
  };
  return { ...row, ...overrides };
}

/**
 * Writes a grant and brings it to `state` (active unless told): as the grant flow would.
 * `granting` is a grant whose PUT was sent and never confirmed (its write `uncertain`: a crash, a
 * lost answer); `unwritten` a `granting` grant for which nothing was sent yet.
 */
export async function seedGrant(
  store: LedgerStore,
  overrides: Partial<NewGrant> = {},
  state: "unwritten" | "granting" | "active" | "expired" | "revoked" = "active",
): Promise<Grant> {
  const fixture = grantFixture(overrides);
  const { grant } = await store.beginGrant(fixture);
  if (state === "unwritten") return grant;
  if (state === "granting") return store.markWriting(grant.id);
  const active = await store.markActive(grant.id, fixture.createdAt);
  if (state === "active") return active;
  return store.markEnded(grant.id, state, state === "expired" ? "expired" : "pull request closed without merging", fixture.expiresAt);
}

/** A temporary directory for ledger files: `url(name)` is a DATABASE_URL inside it, `path(name)` a file path. */
export async function tempLedgerDir(): Promise<{ url(name?: string): string; path(name: string): string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "jit-expiry-"));
  return {
    url: (name = "ledger.db") => `sqlite:${join(dir, name)}`,
    path: (name) => join(dir, name),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * A grant (expired unless told) whose PUT left the secret with GitHub's `updatedAt`: the ledger's
 * record that the app wrote what is there now (what reconcile and the ownership check look for).
 */
export async function seedWrittenGrant(
  store: LedgerStore,
  overrides: Partial<NewGrant>,
  updatedAt: string,
  state: "active" | "expired" | "revoked" = "expired",
): Promise<Grant> {
  const grant = await seedGrant(store, overrides, state);
  return store.recordWriteMark(grant.id, new Date(updatedAt));
}
