import { afterAll, afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { sweepOnce } from "../../src/revoke/sweep.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import type { LifecycleDeps } from "../../src/app/deps.js";
import type { ManualClock } from "../../src/util/clock.js";
import { seedGrant } from "../helpers/grant-fixture.js";
import { GitHubMock } from "../helpers/github-nock.js";
import { recordingLog } from "../helpers/recording-log.js";
import { EXPIRY_START, revocationDeps } from "../helpers/revocation-deps.js";
import { recordUnmatchedRequests } from "../helpers/unmatched-requests.js";

const HOUR = 3_600_000;
const ago = (ms: number): Date => new Date(EXPIRY_START - ms);

let store: LedgerStore;
let deps: LifecycleDeps;
let clock: ManualClock;
let unmatched: ReturnType<typeof recordUnmatchedRequests>;
const { log } = recordingLog();

beforeEach(async () => {
  store = await openLedger("sqlite::memory:");
  ({ deps, clock } = revocationDeps(store));
  unmatched = recordUnmatchedRequests();
});
afterEach(async () => {
  unmatched.stop();
  nock.cleanAll();
  await store.close();
});
afterAll(() => {
  nock.enableNetConnect();
});

/** The calls one expiry makes when it deletes the secret and the PR has no other live grant. */
function expiryCalls(gh: GitHubMock, environment: string, secret: string, prNumber: number): GitHubMock {
  gh.deleteSecret(environment, secret).comment(prNumber).setLabels(prNumber);
  return gh;
}

describe("sweepOnce", () => {
  it("revokes every due grant, page by page, and leaves grants that are not due", async () => {
    const due = await Promise.all(
      ["A_KEY", "B_KEY", "C_KEY"].map((secret, i) => seedGrant(store, { secret, prNumber: 10 + i, createdAt: ago(3 * HOUR + i) })),
    );
    const later = await seedGrant(store, { secret: "D_KEY", prNumber: 20, createdAt: ago(HOUR) });
    const gh = new GitHubMock("acme", "api");
    due.forEach((grant) => expiryCalls(gh, "production", grant.secret, grant.prNumber));

    const result = await sweepOnce(deps, log, { pageSize: 2 });

    expect(result).toEqual({ due: 3, ended: 3, retrying: 0 });
    for (const grant of due) expect((await store.getGrant(grant.id))?.state).toBe("expired");
    expect((await store.getGrant(later.id))?.state).toBe("active");
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("retries a failed DELETE only after its backoff, then revokes it", async () => {
    const grant = await seedGrant(store, { createdAt: ago(2 * HOUR) });
    new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL", 500);

    expect(await sweepOnce(deps, log)).toEqual({ due: 1, ended: 0, retrying: 1 });
    expect(await store.getGrant(grant.id)).toMatchObject({
      state: "active",
      revokeAttempts: 1,
      nextAttemptAt: new Date(EXPIRY_START + 5_000),
    });
    expect(nock.pendingMocks()).toEqual([]);

    await clock.advance(4_999);
    expect(await sweepOnce(deps, log)).toEqual({ due: 0, ended: 0, retrying: 0 });
    expect(unmatched.requests).toEqual([]);

    await clock.advance(1);
    expiryCalls(new GitHubMock("acme", "api"), "production", "PROD_DB_URL", 7);
    expect(await sweepOnce(deps, log)).toEqual({ due: 1, ended: 1, retrying: 0 });
    expect(await store.getGrant(grant.id)).toMatchObject({
      state: "expired",
      endedAt: new Date(EXPIRY_START + 5_000),
      nextAttemptAt: null,
    });
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("skips grants that an exact timer is revoking right now", async () => {
    const grant = await seedGrant(store, { createdAt: ago(2 * HOUR) });

    expect(await sweepOnce(deps, log, { inFlight: new Set([grant.id]) })).toEqual({ due: 0, ended: 0, retrying: 0 });
    expect((await store.getGrant(grant.id))?.state).toBe("active");
    expect(unmatched.requests).toEqual([]);
  });

  it("also ends grants whose secret write never completed (still granting)", async () => {
    const grant = await seedGrant(store, { createdAt: ago(2 * HOUR) }, "granting");
    expiryCalls(new GitHubMock("acme", "api"), "production", "PROD_DB_URL", 7);

    expect(await sweepOnce(deps, log)).toEqual({ due: 1, ended: 1, retrying: 0 });
    expect((await store.getGrant(grant.id))?.state).toBe("expired");
    expect(nock.pendingMocks()).toEqual([]);
  });
});
