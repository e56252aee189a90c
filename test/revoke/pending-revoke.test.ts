import { afterAll, afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { sweepOnce } from "../../src/revoke/sweep.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import type { LifecycleDeps } from "../../src/app/deps.js";
import { LABELS, revokeGrant } from "../../src/revoke/revoke-grant.js";
import type { ManualClock } from "../../src/util/clock.js";
import { seedGrant } from "../helpers/grant-fixture.js";
import { GitHubMock } from "../helpers/github-nock.js";
import { recordingLog } from "../helpers/recording-log.js";
import { EXPIRY_START, revocationDeps } from "../helpers/revocation-deps.js";

let store: LedgerStore;
let deps: LifecycleDeps;
let clock: ManualClock;
const { log } = recordingLog();

beforeEach(async () => {
  store = await openLedger("sqlite::memory:");
  ({ deps, clock } = revocationDeps(store));
});
afterEach(async () => {
  nock.cleanAll();
  await store.close();
});
afterAll(() => {
  nock.enableNetConnect();
});

describe("an early revocation whose delete failed", () => {
  it("is retried by the sweep after its backoff, long before the grant's expiry, and ends as revoked", async () => {
    // An hour left on the grant when the PR is closed; GitHub answers 502 to the DELETE.
    const grant = await seedGrant(store, { createdAt: new Date(EXPIRY_START - 60_000) });
    new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL", 502);
    const first = await revokeGrant(deps, { grant, kind: "revoked", reason: "pull request closed without merging", actor: "alice" }, log);
    expect(first.kind).toBe("retry");
    expect(await store.getGrant(grant.id)).toMatchObject({
      state: "active",
      revokeAttempts: 1,
      pendingEnd: { kind: "revoked", reason: "pull request closed without merging", actor: "alice" },
    });

    // Within the backoff nothing is due; after it the sweep deletes and records the revocation.
    expect(await sweepOnce(deps, log)).toEqual({ due: 0, ended: 0, retrying: 0 });
    await clock.advance(5_000);
    const gh = new GitHubMock("acme", "api").deleteSecret("production", "PROD_DB_URL").comment(7).setLabels(7);
    expect(await sweepOnce(deps, log)).toEqual({ due: 1, ended: 1, retrying: 0 });
    expect(nock.pendingMocks()).toEqual([]);
    expect(await store.getGrant(grant.id)).toMatchObject({ state: "revoked", endReason: "pull request closed without merging" });
    expect(gh.bodies("/labels")).toEqual([{ labels: [LABELS.revoked] }]);
    const audit = await store.listAudit();
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ["revoke_failed", "alice"],
      ["revoked", "alice"],
    ]);
  });
});
