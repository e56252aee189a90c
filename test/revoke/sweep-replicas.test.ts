import { afterAll, afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import { CLAIM_LEASE_MS, sweepOnce } from "../../src/revoke/sweep.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { Grant, LedgerStore } from "../../src/ledger/store.js";
import { LABELS } from "../../src/revoke/revoke-grant.js";
import { SecretLocks } from "../../src/ledger/secret-locks.js";
import { ManualClock } from "../../src/util/clock.js";
import { seedGrant } from "../helpers/grant-fixture.js";
import { GitHubMock } from "../helpers/github-nock.js";
import { recordingLog } from "../helpers/recording-log.js";
import { EXPIRY_START, revocationDeps } from "../helpers/revocation-deps.js";
import { recordUnmatchedRequests } from "../helpers/unmatched-requests.js";

/**
 * Two processes sweep one ledger file (the server and `jit-access sweep` from cron, or two
 * replicas): each claims what it revokes, so every due grant is revoked once, by one of them.
 */
const HOUR = 3_600_000;
const ago = (ms: number): Date => new Date(EXPIRY_START - ms);

let dir: string;
let stores: LedgerStore[];
let unmatched: ReturnType<typeof recordUnmatchedRequests>;
const { log } = recordingLog();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "jit-sweep-replicas-"));
  const url = `sqlite:${join(dir, "ledger.db")}`;
  stores = [await openLedger(url), await openLedger(url)];
  unmatched = recordUnmatchedRequests();
});
afterEach(async () => {
  unmatched.stop();
  nock.cleanAll();
  await Promise.all(stores.map((store) => store.close()));
  await rm(dir, { recursive: true, force: true });
});
afterAll(() => {
  nock.enableNetConnect();
});

function expiryCalls(gh: GitHubMock, grant: Grant): void {
  gh.deleteSecret("production", grant.secret).comment(grant.prNumber).addLabels(grant.prNumber);
  gh.scope.delete(`${gh.base}/issues/${grant.prNumber}/labels/${encodeURIComponent(LABELS.granted)}`).reply(200, []);
}

/** One process: its own ledger connection, clock, GitHub client and locks across processes. */
function replica(store: LedgerStore, clock = new ManualClock(EXPIRY_START)) {
  const { deps } = revocationDeps(store, clock);
  return { deps: { ...deps, locks: new SecretLocks(store) }, clock };
}

describe("sweeps by two processes on one ledger", () => {
  it("split the due grants: each is revoked once, its DELETE sent once", async () => {
    const due = await Promise.all(
      ["A_KEY", "B_KEY", "C_KEY", "D_KEY", "E_KEY"].map((secret, i) =>
        seedGrant(stores[0]!, { secret, prNumber: 10 + i, createdAt: ago(3 * HOUR + i) }),
      ),
    );
    const gh = new GitHubMock("acme", "api");
    due.forEach((grant) => expiryCalls(gh, grant));
    const [one, two] = [replica(stores[0]!), replica(stores[1]!)];

    const results = await Promise.all([
      sweepOnce(one.deps, log, { pageSize: 2, claimOwner: "replica-a" }),
      sweepOnce(two.deps, log, { pageSize: 2, claimOwner: "replica-b" }),
    ]);

    expect(results[0].due + results[1].due).toBe(5);
    expect(results[0].ended + results[1].ended).toBe(5);
    for (const grant of due) expect((await stores[1]!.getGrant(grant.id))?.state).toBe("expired");
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]); // no second DELETE, comment or label call
    expect((await stores[0]!.listAudit()).filter((record) => record.action === "expired")).toHaveLength(5);
  });

  it("leave a grant claimed by a process that died until the claim's lease ends, then another revokes it", async () => {
    const grant = await seedGrant(stores[0]!, { createdAt: ago(3 * HOUR) });
    // The first process claimed it and died before revoking it.
    const clock = new ManualClock(EXPIRY_START);
    expect(
      await stores[0]!.claimDueGrants(new Date(clock.now()), 10, { owner: "died", until: new Date(clock.now() + CLAIM_LEASE_MS) }),
    ).toHaveLength(1);
    const survivor = replica(stores[1]!, clock);

    expect(await sweepOnce(survivor.deps, log, { claimOwner: "survivor" })).toEqual({ due: 0, ended: 0, retrying: 0 });
    expect(unmatched.requests).toEqual([]);

    await clock.advance(CLAIM_LEASE_MS);
    expiryCalls(new GitHubMock("acme", "api"), grant);
    expect(await sweepOnce(survivor.deps, log, { claimOwner: "survivor" })).toEqual({ due: 1, ended: 1, retrying: 0 });
    expect((await stores[0]!.getGrant(grant.id))?.state).toBe("expired");
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });
});
