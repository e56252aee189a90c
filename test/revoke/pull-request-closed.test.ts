import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { CLOSED_UNMERGED_REASON } from "../../src/app/on-pull-request-closed.js";
import { LABELS } from "../../src/revoke/revoke-grant.js";
import { startHarness, type Harness } from "../helpers/app-harness.js";
import { seedGrant } from "../helpers/grant-fixture.js";
import { GitHubMock, type CommentBody } from "../helpers/github-nock.js";
import { recordUnmatchedRequests } from "../helpers/unmatched-requests.js";
import { pullRequestPayload, type PrScenario } from "../helpers/webhook-payloads.js";

/**
 * Closing a request PR, through the real entry point: `probot.receive` with GitHub's own
 * `pull_request.closed` example payload, GitHub behind nock with the network blocked.
 */
const alice = { id: 101, login: "alice" };
const scenario: PrScenario = { owner: "acme", repo: "api", number: 7, headSha: "a".repeat(40), author: alice, installationId: 42 };
const HOUR = 3_600_000;

let h: Harness;
let unmatched: ReturnType<typeof recordUnmatchedRequests>;
beforeEach(async () => {
  h = await startHarness();
  unmatched = recordUnmatchedRequests();
});
afterEach(async () => {
  unmatched.stop();
  await h.close();
});

/** Live grants on PR #7 (two secrets) and one on PR #8 that must not be touched. */
async function seedLiveGrants() {
  // Two-hour grants with an hour to go, written a millisecond apart so that they are revoked in this order.
  const createdAt = (ms: number) => new Date(h.clock.now() - HOUR + ms);
  return {
    database: await seedGrant(h.store, { createdAt: createdAt(0), secret: "PROD_DB_URL", prNumber: 7 }),
    payments: await seedGrant(h.store, { createdAt: createdAt(1), secret: "PAYMENTS_KEY", prNumber: 7 }),
    otherPr: await seedGrant(h.store, { createdAt: createdAt(2), secret: "STAGING_KEY", environment: "staging", prNumber: 8 }),
  };
}

function closed(merged: boolean) {
  return { id: "1", name: "pull_request", payload: pullRequestPayload("closed", { ...scenario, merged }) } as never;
}

describe("a request pull request that is closed", () => {
  it("finds its grants by repository id after a rename, and fills in the id on grants recorded without one", async () => {
    const payload = pullRequestPayload("closed", { ...scenario, merged: false });
    const repositoryId = payload.repository.id;
    // Granted while the repository was acme/api; it has since been renamed acme/payments-api.
    const renamed = await seedGrant(h.store, {
      secret: "PROD_DB_URL",
      prNumber: 7,
      repositoryId,
      createdAt: new Date(h.clock.now() - HOUR),
    });
    // Recorded before the ledger kept repository ids.
    const older = await seedGrant(h.store, {
      secret: "STAGING_KEY",
      environment: "staging",
      prNumber: 9,
      owner: "acme",
      repo: "payments-api",
      createdAt: new Date(h.clock.now() - HOUR),
    });
    payload.repository.name = "payments-api";
    payload.repository.full_name = "acme/payments-api";
    // The event names the repository (same id) as it is now: the DELETE and the feedback go there.
    new GitHubMock("acme", "payments-api").deleteSecret("production", "PROD_DB_URL").comment(7).setLabels(7);

    await h.probot.receive({ id: "1", name: "pull_request", payload } as never);

    expect(await h.store.getGrant(renamed.id)).toMatchObject({ state: "revoked", endReason: CLOSED_UNMERGED_REASON });
    expect(await h.store.getGrant(older.id)).toMatchObject({ state: "active", repositoryId });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("without merging: every live grant on it is revoked now, each secret deleted and the PR told", async () => {
    const grants = await seedLiveGrants();
    const gh = new GitHubMock("acme", "api")
      .deleteSecret("production", "PROD_DB_URL")
      .comment(7)
      .addLabels(7)
      .deleteSecret("production", "PAYMENTS_KEY")
      .comment(7)
      .setLabels(7, [LABELS.granted, LABELS.revoked]); // after the last one: jit:granted taken off

    await h.probot.receive(closed(false));

    for (const grant of [grants.database, grants.payments]) {
      expect(await h.store.getGrant(grant.id)).toMatchObject({
        state: "revoked",
        endReason: CLOSED_UNMERGED_REASON,
        endedAt: new Date(h.clock.now()),
      });
    }
    expect((await h.store.getGrant(grants.otherPr.id))?.state).toBe("active");
    const revoked = (await h.store.listAudit()).filter((event) => event.action === "revoked");
    expect(revoked).toHaveLength(2);
    expect(revoked.every((event) => event.actor === "alice" && event.details?.reason === CLOSED_UNMERGED_REASON)).toBe(true);
    expect(gh.bodies<CommentBody>("/issues/7/comments").map((comment) => comment.body)).toEqual([
      `**Access revoked:** \`PROD_DB_URL\` in environment \`production\` (\`${CLOSED_UNMERGED_REASON}\`). The secret has been deleted.`,
      `**Access revoked:** \`PAYMENTS_KEY\` in environment \`production\` (\`${CLOSED_UNMERGED_REASON}\`). The secret has been deleted.`,
    ]);
    expect(gh.bodies("/issues/7/labels")).toEqual([{ labels: [LABELS.revoked] }, { labels: [LABELS.revoked] }]);
    expect(h.logs.join("\n")).toContain("pull request closed without merging: grants revoked");
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("merged: the grants stay until they expire, and GitHub is not called", async () => {
    const grants = await seedLiveGrants();

    await h.probot.receive(closed(true));

    for (const grant of Object.values(grants)) expect((await h.store.getGrant(grant.id))?.state).toBe("active");
    expect(await h.store.listAudit()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("without merging and without grants: nothing happens", async () => {
    await h.probot.receive(closed(false));

    expect(await h.store.listAudit()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });
});
