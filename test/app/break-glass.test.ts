/**
 * Break-glass through the app: a request with `break_glass: true` is granted at once without
 * approval where the catalog allows it, loudly (code owners mentioned, a label, a notification, a
 * neutral check), and the code owner's approval afterwards is recorded as its review.
 */
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { OutboxNotifier } from "../../src/feedback/notifier.js";
import { GitHubMock, type CheckRunBody, type CommentBody } from "../helpers/github-nock.js";
import { CATALOG, SECRET_VALUES, startHarness, type Harness } from "../helpers/app-harness.js";
import { pullRequestPayload, reviewPayload, type PrScenario } from "../helpers/webhook-payloads.js";

const HEAD = "a".repeat(40);
const BASE = "b".repeat(40);
const alice = { id: 101, login: "alice" };
const bob = { id: 202, login: "bob" };
const scenario: PrScenario = { owner: "acme", repo: "api", number: 7, headSha: HEAD, baseSha: BASE, author: alice, installationId: 42 };
const silentLog = { debug() {}, info() {}, warn() {}, error() {} };
const CODEOWNERS = "jit-requests.yml @bob @carol\n";
const GLASS_CATALOG = CATALOG.replace("    max_duration: 4h\n", "    max_duration: 4h\n    break_glass: {max_duration: 1h}\n");
const request = (secret: string) => `requests:
  - secret: ${secret}
    environment: production
    duration: 30m
    reason: "INC-9: the primary database is down"
    break_glass: true
`;

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ catalog: GLASS_CATALOG });
  h.deps.notifier = new OutboxNotifier({ store: h.store, urls: ["http://127.0.0.1:9/jit"], webUrl: "https://github.com", log: silentLog });
});
afterEach(async () => {
  await h.close();
});

function reads(head: string, reviews: Parameters<GitHubMock["reviews"]>[1] = [], permissions: string[] = ["alice"]): GitHubMock {
  const gh = new GitHubMock("acme", "api")
    .pull({ number: 7, headSha: HEAD, baseSha: BASE, author: alice })
    .compare("main", HEAD, BASE)
    .file(".github/jit-access.yml", "main", null)
    .file("jit-requests.yml", HEAD, head)
    .file("jit-requests.yml", BASE, null)
    .environments(["production"])
    .file(".github/CODEOWNERS", "main", CODEOWNERS)
    .reviews(7, reviews);
  for (const login of permissions) gh.permission(login, "write");
  return gh;
}

describe("break-glass", () => {
  it("is granted at once without approval, loudly; a code owner's approval afterwards records the review", async () => {
    const gh = reads(request("PROD_DB_URL"))
      .publicKey("production", h.environmentKey)
      .pull({ number: 7, headSha: HEAD, baseSha: BASE, author: alice })
      .secretMetadata("production", "PROD_DB_URL", null)
      .putSecret("production", "PROD_DB_URL")
      .secretMetadata("production", "PROD_DB_URL", "2026-03-01T10:00:01Z")
      .checkRun()
      .comment(7)
      .addLabels(7)
      .comment(7)
      .addLabels(7);
    await h.probot.receive({ id: "1", name: "pull_request", payload: pullRequestPayload("opened", scenario) as never });
    expect(nock.pendingMocks()).toEqual([]);

    const [grant] = await h.store.listGrants();
    expect(grant).toMatchObject({ state: "active", breakGlass: true, breakGlassReview: null, approvers: [], durationMs: 30 * 60_000 });
    expect(gh.body<CheckRunBody>("/check-runs")).toMatchObject({
      status: "completed",
      conclusion: "neutral",
      output: { title: "Break-glass access granted without approval: needs review" },
    });
    const comments = gh.bodies<CommentBody>("/issues/7/comments");
    const loud = comments.find((c) => c.body.includes("Break-glass access granted without approval"));
    expect(loud?.body).toContain("@bob @carol: please review");
    expect(gh.bodies("/issues/7/labels")).toEqual([{ labels: ["jit:granted"] }, { labels: ["jit:break-glass"] }]);
    expect((await h.store.listAudit()).map((a) => a.action)).toEqual(["break_glass", "granting", "granted"]);
    const [event] = await h.store.listNotifications();
    expect(JSON.parse(event!.body)).toMatchObject({ event: "break_glass", break_glass: true, approvers: [], grant_id: grant!.id });
    expect(await h.store.unreviewedBreakGlass()).toHaveLength(1);

    // Bob, a code owner, approves afterwards: the review is recorded and the check passes.
    await h.clock.advance(10 * 60_000);
    const review = reads(request("PROD_DB_URL"), [{ id: 1, user: bob, state: "APPROVED", commit_id: HEAD }], ["alice", "bob"]).checkRun();
    await h.probot.receive({
      id: "2",
      name: "pull_request_review",
      payload: reviewPayload("submitted", scenario, { id: 1, reviewer: bob, state: "approved" }) as never,
    });
    expect(nock.pendingMocks()).toEqual([]);
    expect(review.body<CheckRunBody>("/check-runs")).toMatchObject({
      conclusion: "success",
      output: { title: "Break-glass access reviewed" },
    });
    expect(await h.store.unreviewedBreakGlass()).toEqual([]);
    expect((await h.store.getGrant(grant!.id))?.breakGlassReview).toEqual({ reviewer: bob, at: new Date(h.clock.now()) });
    const reviewed = (await h.store.listAudit()).filter((a) => a.action === "break_glass_reviewed");
    expect(reviewed).toEqual([
      expect.objectContaining({ actor: "bob", grantId: grant!.id, details: expect.objectContaining({ headSha: HEAD }) }),
    ]);
    expect(JSON.stringify(await h.store.listNotifications())).not.toContain(SECRET_VALUES.PROD_DB_URL);
  });

  it("is refused where the catalog does not allow it: a failing check at the line, nothing written", async () => {
    const gh = reads(request("PAYMENTS_KEY")).checkRun();
    await h.probot.receive({ id: "1", name: "pull_request", payload: pullRequestPayload("opened", scenario) as never });
    expect(nock.pendingMocks()).toEqual([]);
    const check = gh.body<CheckRunBody>("/check-runs");
    expect(check).toMatchObject({ conclusion: "failure" });
    expect(check.output.summary).toContain("PAYMENTS_KEY does not allow break-glass");
    expect(await h.store.listGrants({ liveOnly: false })).toEqual([]);
    expect((await h.store.listAudit()).map((a) => a.action)).toEqual(["rejected"]);
  });
});
