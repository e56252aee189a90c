import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { sweepOnce } from "../../src/revoke/sweep.js";
import { lapsePass } from "../../src/grant/lapse-requests.js";
import { retryDeferredGrants } from "../../src/grant/retry-deferred-grants.js";
import { delayedCommentMarker } from "../../src/feedback/grant-comment.js";
import { GRANT_RETRY_MS } from "../../src/grant/grant-requests.js";
import { OutboxNotifier } from "../../src/feedback/notifier.js";
import { GitHubMock, type CheckRunBody, type CommentBody, type SecretBody } from "../helpers/github-nock.js";
import { startHarness, SECRET_VALUES, type Harness } from "../helpers/app-harness.js";
import { pullRequestPayload, reviewPayload, type PrScenario } from "../helpers/webhook-payloads.js";

const HEAD = "a".repeat(40);
const BASE = "b".repeat(40);
const alice = { id: 101, login: "alice" }; // requester
const bob = { id: 202, login: "bob" }; // code owner
const carol = { id: 303, login: "carol" }; // not an owner

const scenario: PrScenario = { owner: "acme", repo: "api", number: 7, headSha: HEAD, baseSha: BASE, author: alice, installationId: 42 };

const silentLog = { debug() {}, info() {}, warn() {}, error() {} };
const CODEOWNERS = "jit-requests.yml @bob\n";
const VALID_REQUEST = `requests:
  - secret: PROD_DB_URL
    environment: production
    duration: 2h
    reason: "INC-4211: inspect stuck migrations"
`;

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

/**
 * The reads every evaluation makes before deciding: the PR, its reviews, the compare, the config
 * and CODEOWNERS from the default branch and the requests file at head (all at once, from what
 * the webhook said), then the file at the merge base.
 */
function gather(
  gh: GitHubMock,
  head: string | null,
  base: string | null = null,
  { reviews = [], codeowners = true }: { reviews?: Parameters<GitHubMock["reviews"]>[1] | null; codeowners?: boolean } = {},
): GitHubMock {
  gh.pull({ number: 7, headSha: HEAD, baseSha: BASE, author: alice })
    .compare("main", HEAD, BASE)
    .file(".github/jit-access.yml", "main", null)
    .file("jit-requests.yml", HEAD, head)
    .file("jit-requests.yml", BASE, base);
  if (codeowners) gh.file(".github/CODEOWNERS", "main", CODEOWNERS);
  if (reviews) gh.reviews(7, reviews);
  return gh;
}

/**
 * The reads of an evaluation whose requests file changed: everything the decision may need,
 * and the current permission of the author and of each reviewer whose approval of the head
 * could count. `kept`: an evaluation of this head read those permissions less than a minute ago,
 * for the same approvals, so they are not read again.
 */
function policyReads(gh: GitHubMock, reviews: Parameters<GitHubMock["reviews"]>[1] = [], { kept = false } = {}): GitHubMock {
  gh.environments(["production", "staging"]);
  if (kept) return gh;
  gh.permission("alice", "write");
  const latest = new Map(reviews.filter((r) => r.state !== "COMMENTED").map((r) => [r.user.id, r]));
  // CODEOWNERS names @bob only: no one else's review costs a lookup.
  for (const r of latest.values())
    if (r.state === "APPROVED" && r.commit_id === HEAD && r.user.login === "bob") gh.permission(r.user.login, "write");
  return gh;
}

/** The reads of an evaluation that gets as far as the approval decision, for a valid request. */
function approvalReads(
  reviews: { id: number; user: { id: number; login: string }; state: string; commit_id: string }[],
  options: { kept?: boolean } = {},
): GitHubMock {
  return policyReads(gather(new GitHubMock("acme", "api"), VALID_REQUEST, null, { reviews }), reviews, options);
}

/** bob's approval of the head, granted: the reads, the sealed PUT (the secret absent before it, read back after it for the app's mark), the check run and the comment. */
function grantReads(): GitHubMock {
  return approvalReads([{ id: 1, user: bob, state: "APPROVED", commit_id: HEAD }])
    .publicKey("production", h.environmentKey)
    .pull({ number: 7, headSha: HEAD, baseSha: BASE, author: alice })
    .secretMetadata("production", "PROD_DB_URL", null)
    .putSecret("production", "PROD_DB_URL")
    .secretMetadata("production", "PROD_DB_URL", "2026-03-01T10:00:01Z")
    .checkRun()
    .comment(7);
}

function assertNoValueLeaked(gh: GitHubMock): void {
  const everything = JSON.stringify(gh.sent) + h.logs.join("\n");
  for (const value of Object.values(SECRET_VALUES)) expect(everything).not.toContain(value);
}

describe("a pull request that edits jit-requests.yml", () => {
  it("gets nothing when it does not touch the requests file", async () => {
    const gh = gather(new GitHubMock("acme", "api"), VALID_REQUEST, VALID_REQUEST);
    await h.probot.receive({ id: "1", name: "pull_request", payload: pullRequestPayload("opened", scenario) as never });
    expect(nock.pendingMocks()).toEqual([]);
    expect(gh.sent).toEqual([]);
  });

  it("spends no call on comment-only reviews, which anyone who can comment may post by the hundred", async () => {
    // No GitHub mock at all: any request would fail the test (network blocked, nothing pending).
    for (let i = 0; i < 200; i++) {
      await h.probot.receive({
        id: `c${i}`,
        name: "pull_request_review",
        payload: reviewPayload("submitted", scenario, { id: 1000 + i, reviewer: carol, state: "commented" }) as never,
      });
    }
    expect(nock.pendingMocks()).toEqual([]);
    expect(await h.store.listAudit()).toEqual([]);
  });

  it("folds a burst of events for one pull request into at most two evaluations", async () => {
    // Two evaluations' worth of reads, and no more: a third would find no mock and fail.
    const gh = approvalReads([]).checkRun();
    gather(gh, VALID_REQUEST);
    policyReads(gh, [], { kept: true }).checkRun();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        h.probot.receive({ id: `s${i}`, name: "pull_request", payload: pullRequestPayload("synchronize", scenario) as never }),
      ),
    );
    expect(nock.pendingMocks()).toEqual([]);
    expect(gh.bodies("/check-runs")).toHaveLength(2);
  });

  it("ignores an edit that does not change the base branch", async () => {
    const payload = { ...pullRequestPayload("edited", scenario), changes: { title: { from: "old title" } } };
    await h.probot.receive({ id: "1", name: "pull_request", payload: payload as never });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("re-validates when an edit moves the base branch", async () => {
    const gh = gather(new GitHubMock("acme", "api"), VALID_REQUEST, VALID_REQUEST);
    const payload = { ...pullRequestPayload("edited", scenario), changes: { base: { ref: { from: "release" }, sha: { from: BASE } } } };
    await h.probot.receive({ id: "1", name: "pull_request", payload: payload as never });
    expect(nock.pendingMocks()).toEqual([]);
    expect(gh.sent).toEqual([]);
  });

  it("ignores repositories that no catalog secret may go to", async () => {
    await h.probot.receive({
      id: "1",
      name: "pull_request",
      payload: pullRequestPayload("opened", { ...scenario, owner: "other", repo: "thing" }) as never,
    });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("fails the check with an annotation on each wrong line", async () => {
    const bad = `requests:
  - secret: PROD_DB_URL
    environment: prod
    duration: 9h
    reason: "short"
`;
    const gh = policyReads(gather(new GitHubMock("acme", "api"), bad)).checkRun();
    await h.probot.receive({ id: "1", name: "pull_request", payload: pullRequestPayload("opened", scenario) as never });
    expect(nock.pendingMocks()).toEqual([]);
    const check = gh.body<CheckRunBody>("/check-runs");
    expect(check).toMatchObject({ name: "jit-access", head_sha: HEAD, status: "completed", conclusion: "failure" });
    const lines = check.output.annotations?.map((a) => a.start_line);
    expect(lines).toEqual([3, 3, 4, 5]);
    expect(check.output.annotations?.every((a) => a.path === "jit-requests.yml")).toBe(true);
    const audit = await h.store.listAudit();
    expect(audit.map((a) => a.action)).toEqual(["rejected"]);
    expect(await h.store.listGrants({ liveOnly: false })).toEqual([]);
  });

  it("waits for a code owner's approval and names who can give it", async () => {
    const gh = approvalReads([]).checkRun();
    await h.probot.receive({ id: "1", name: "pull_request", payload: pullRequestPayload("opened", scenario) as never });
    expect(nock.pendingMocks()).toEqual([]);
    const check = gh.body<CheckRunBody>("/check-runs");
    expect(check).toMatchObject({ status: "in_progress", output: { title: "Waiting for approval: 0 of 1" } });
    expect(check.output.summary).toContain("@bob");
    expect(check.output.summary).toContain("| `PROD_DB_URL` | `production` | 2h |");
    const [validated] = await h.store.listAudit();
    expect(validated).toMatchObject({
      action: "validated",
      details: { requests: [{ secret: "PROD_DB_URL", reason: expect.stringMatching(/\S{3}/u) }] },
    });
  });

  it("grants when a code owner approves the head commit: ledger first, sealed PUT, comment, label, check", async () => {
    const gh = grantReads().addLabels(7);
    await h.probot.receive({
      id: "2",
      name: "pull_request_review",
      payload: reviewPayload("submitted", scenario, { id: 1, reviewer: bob, state: "approved" }) as never,
    });
    expect(nock.pendingMocks()).toEqual([]);

    const put = gh.body<SecretBody>("/secrets/PROD_DB_URL");
    expect(put.key_id).toBe(h.environmentKey.keyId);
    expect(h.environmentKey.open(put.encrypted_value)).toBe(SECRET_VALUES.PROD_DB_URL);

    const [grant] = await h.store.listGrants({ liveOnly: false });
    expect(grant).toMatchObject({
      state: "active",
      owner: "acme",
      repo: "api",
      environment: "production",
      secret: "PROD_DB_URL",
      requester: alice,
      approvers: [bob],
      prNumber: 7,
      headSha: HEAD,
      durationMs: 7_200_000,
      secretWrite: "written",
      secretUpdatedAt: new Date("2026-03-01T10:00:01Z"),
    });
    expect(grant!.expiresAt.getTime() - grant!.createdAt.getTime()).toBe(7_200_000);

    const check = gh.body<CheckRunBody>("/check-runs");
    expect(check).toMatchObject({ conclusion: "success", output: { title: "Access granted: PROD_DB_URL" } });
    const comment = gh.body<CommentBody>("/comments");
    expect(comment.body).toContain("**Access granted.**");
    expect(comment.body).toContain("2026-03-01 12:00:00 UTC (in 2h)");
    expect(comment.body).toContain("environment: production");
    // The catalog binds PROD_DB_URL to nobody: the comment says any run in the environment can read it.
    expect(comment.body).toContain(
      "**Not bound to `@alice`:** any workflow run that targets the environment can read the secret while the grant lasts.",
    );
    expect(gh.bodies("/labels")).toEqual([{ labels: ["jit:granted"] }]);
    expect((await h.store.listAudit()).map((a) => a.action)).toEqual(["approved", "granting", "granted"]);
    expect((await h.store.listAudit())[2]?.details).toMatchObject({ secretUpdatedAt: "2026-03-01T10:00:01.000Z" });
    // The request's reason is part of the audit record, not only of the grant.
    expect((await h.store.listAudit())[1]?.details).toMatchObject({ reason: grant!.reason });
    expect(grant!.reason).not.toBe("");
    assertNoValueLeaked(gh);
    expect(JSON.stringify(await h.store.listAudit())).not.toContain(SECRET_VALUES.PROD_DB_URL);
  });

  it("logs a label that could not be set as a label failure, and the grant stands: the secret, the comment and the check are there", async () => {
    const gh = grantReads();
    gh.scope.post("/repos/acme/api/issues/7/labels").reply(500, { message: "Server Error" });
    await h.probot.receive({
      id: "2",
      name: "pull_request_review",
      payload: reviewPayload("submitted", scenario, { id: 1, reviewer: bob, state: "approved" }) as never,
    });
    expect(nock.pendingMocks()).toEqual([]);
    const [grant] = await h.store.listGrants({ liveOnly: false });
    expect(grant).toMatchObject({ state: "active", secretWrite: "written" });
    expect(gh.body<CommentBody>("/comments").body).toContain("**Access granted.**");
    expect(gh.body<CheckRunBody>("/check-runs")).toMatchObject({ conclusion: "success" });
    const warnings = h.logs.filter((line) => line.includes('"level":40'));
    expect(warnings.filter((line) => line.includes("could not label the pull request") && line.includes("jit:granted"))).toHaveLength(1);
    expect(warnings.filter((line) => line.includes("could not comment"))).toEqual([]);
  });

  it("queues a granted event for JIT_NOTIFY_URL and delivers nothing itself: a receiver that is down delays no grant", async () => {
    h.deps.notifier = new OutboxNotifier({
      store: h.store,
      urls: ["http://127.0.0.1:9/down"],
      webUrl: "https://github.com",
      log: silentLog,
    });
    grantReads().addLabels(7);
    await h.probot.receive({
      id: "2",
      name: "pull_request_review",
      payload: reviewPayload("submitted", scenario, { id: 1, reviewer: bob, state: "approved" }) as never,
    });
    expect(nock.pendingMocks()).toEqual([]);
    const [grant] = await h.store.listGrants();
    expect(grant?.state).toBe("active");
    const [queued] = await h.store.listNotifications();
    expect(queued).toMatchObject({ url: "http://127.0.0.1:9/down", event: "granted", attempts: 0, deliveredAt: null });
    expect(JSON.parse(queued!.body)).toMatchObject({
      event: "granted",
      repository: "acme/api",
      pull_request: { number: 7, url: "https://github.com/acme/api/pull/7" },
      secret: "PROD_DB_URL",
      environment: "production",
      requester: "alice",
      approvers: ["bob"],
      expires_at: grant!.expiresAt.toISOString(),
      reasons: { request: grant!.reason, event: null },
      grant_id: grant!.id,
    });
    expect(queued!.body).not.toContain(SECRET_VALUES.PROD_DB_URL);
  });

  it("lapses a request not approved within request_ttl (24h): the sweep fails its check, and a late approval grants nothing", async () => {
    h.deps.notifier = new OutboxNotifier({
      store: h.store,
      urls: ["http://127.0.0.1:9/down"],
      webUrl: "https://github.com",
      log: silentLog,
    });
    const opened = approvalReads([]).checkRun();
    await h.probot.receive({ id: "1", name: "pull_request", payload: pullRequestPayload("opened", scenario) as never });
    expect(opened.body<CheckRunBody>("/check-runs")).toMatchObject({ status: "in_progress" });
    const head = { owner: "acme", repo: "api", prNumber: 7, headSha: HEAD };
    expect(await h.store.getRequestHead(head)).toMatchObject({ ttlMs: 24 * 3_600_000, lapsedAt: null });

    // Nothing happens for almost a day: the sweep finds nothing lapsing and calls no one.
    await h.clock.advance(24 * 3_600_000 - 1);
    await sweepOnce(h.deps, silentLog, { alsoRun: [lapsePass(h.deps, silentLog)] });
    expect(nock.pendingMocks()).toEqual([]);

    // The day is over: the sweep evaluates the PR once, fails its check, and settles it.
    await h.clock.advance(1);
    const swept = approvalReads([]).checkRun();
    await sweepOnce(h.deps, silentLog, { alsoRun: [lapsePass(h.deps, silentLog)] });
    expect(nock.pendingMocks()).toEqual([]);
    expect(swept.body<CheckRunBody>("/check-runs")).toMatchObject({
      status: "completed",
      conclusion: "failure",
      output: { title: "Request lapsed", summary: "This request lapsed unapproved after 1d; push a new commit to ask again" },
    });
    expect((await h.store.getRequestHead(head))?.lapsedAt).toEqual(new Date(h.clock.now()));
    await sweepOnce(h.deps, silentLog, { alsoRun: [lapsePass(h.deps, silentLog)] }); // settled: not looked at again
    expect(nock.pendingMocks()).toEqual([]);

    // An hour later a code owner approves the lapsed head: the check says it lapsed, and nothing is granted.
    await h.clock.advance(3_600_000);
    const late = approvalReads([{ id: 1, user: bob, state: "APPROVED", commit_id: HEAD }]).checkRun();
    await h.probot.receive({
      id: "2",
      name: "pull_request_review",
      payload: reviewPayload("submitted", scenario, { id: 1, reviewer: bob, state: "approved" }) as never,
    });
    expect(nock.pendingMocks()).toEqual([]);
    expect(late.body<CheckRunBody>("/check-runs")).toMatchObject({ conclusion: "failure", output: { title: "Request lapsed" } });
    expect(late.sent.some((r) => r.path.includes("/secrets/"))).toBe(false);
    expect(await h.store.listGrants({ liveOnly: false })).toEqual([]);
    expect((await h.store.listAudit()).map((a) => a.action)).toEqual(["validated", "lapsed"]);
    const lapsed = (await h.store.listNotifications()).map((n) => JSON.parse(n.body) as { event: string; reasons: { event: string } });
    expect(lapsed).toEqual([
      expect.objectContaining({
        event: "lapsed",
        reasons: expect.objectContaining({ event: expect.stringContaining("lapsed unapproved after 1d") }),
      }),
    ]);
  });

  it("grants nothing twice when the same approval is delivered again", async () => {
    const approve = reviewPayload("submitted", scenario, { id: 1, reviewer: bob, state: "approved" });
    const first = grantReads().addLabels(7);
    await h.probot.receive({ id: "2", name: "pull_request_review", payload: approve as never });
    expect(nock.pendingMocks()).toEqual([]);
    expect(first.bodies("/secrets/PROD_DB_URL")).toHaveLength(1);

    // Redelivery: the same reads but the permissions, read for this head and approval a moment
    // ago, and no write at all.
    const again = approvalReads([{ id: 1, user: bob, state: "APPROVED", commit_id: HEAD }], { kept: true });
    await h.probot.receive({ id: "2", name: "pull_request_review", payload: approve as never });
    expect(nock.pendingMocks()).toEqual([]);
    expect(again.sent).toEqual([]);

    // A minute on, the permissions are read again.
    await h.clock.advance(60_000);
    const later = approvalReads([{ id: 1, user: bob, state: "APPROVED", commit_id: HEAD }]);
    await h.probot.receive({ id: "2", name: "pull_request_review", payload: approve as never });
    expect(nock.pendingMocks()).toEqual([]);
    expect(later.sent).toEqual([]);
    expect(await h.store.listGrants({ liveOnly: false })).toHaveLength(1);
  });

  it.each([
    ["the author approving their own request", [{ id: 1, user: alice, state: "APPROVED", commit_id: HEAD }]],
    ["an approval of an older commit", [{ id: 1, user: bob, state: "APPROVED", commit_id: "c".repeat(40) }]],
    ["an approval by someone who is not a code owner", [{ id: 1, user: carol, state: "APPROVED", commit_id: HEAD }]],
    [
      "an approval superseded by changes requested",
      [
        { id: 1, user: bob, state: "APPROVED", commit_id: HEAD },
        { id: 2, user: bob, state: "CHANGES_REQUESTED", commit_id: HEAD },
      ],
    ],
    ["a dismissed approval", [{ id: 1, user: bob, state: "DISMISSED", commit_id: HEAD }]],
  ])("does not grant on %s", async (_name, reviews) => {
    const gh = approvalReads(reviews).checkRun();
    await h.probot.receive({
      id: "3",
      name: "pull_request_review",
      payload: reviewPayload("submitted", scenario, { id: 1, reviewer: reviews[0]!.user, state: "approved" }) as never,
    });
    expect(nock.pendingMocks()).toEqual([]);
    expect(gh.bodies("/check-runs")[0]).toMatchObject({ status: "in_progress" });
    expect(gh.sent.filter((s) => s.path.includes("/secrets/"))).toEqual([]);
    expect(await h.store.listGrants({ liveOnly: false })).toEqual([]);
  });

  it("reads CODEOWNERS from the default branch only, not from the pull request", async () => {
    // The PR's head adds alice as owner; the default branch has none: nothing can be approved.
    const gh = gather(new GitHubMock("acme", "api"), VALID_REQUEST, null, { reviews: null, codeowners: false })
      .environments(["production", "staging"])
      .permission("alice", "write")
      .file(".github/CODEOWNERS", "main", null)
      .file("CODEOWNERS", "main", null)
      .file("docs/CODEOWNERS", "main", null)
      .reviews(7, [{ id: 1, user: bob, state: "APPROVED", commit_id: HEAD }])
      .checkRun();
    await h.probot.receive({
      id: "4",
      name: "pull_request_review",
      payload: reviewPayload("submitted", scenario, { id: 1, reviewer: bob, state: "approved" }) as never,
    });
    expect(nock.pendingMocks()).toEqual([]);
    expect(gh.body<CheckRunBody>("/check-runs").output.summary).toContain("Nothing can be approved");
  });

  it("records a failed grant and tells the operator what to fix when the value source is missing", async () => {
    h.deps.sourceEnv = {};
    const gh = approvalReads([{ id: 1, user: bob, state: "APPROVED", commit_id: HEAD }])
      .checkRun()
      .comment(7);
    await h.probot.receive({
      id: "5",
      name: "pull_request_review",
      payload: reviewPayload("submitted", scenario, { id: 1, reviewer: bob, state: "approved" }) as never,
    });
    expect(nock.pendingMocks()).toEqual([]);
    const [grant] = await h.store.listGrants({ liveOnly: false });
    expect(grant!.state).toBe("failed");
    expect(gh.bodies("/check-runs")[0]).toMatchObject({ conclusion: "failure", output: { title: "Access could not be granted" } });
    expect(gh.body<CommentBody>("/comments").body).toContain("PROD_DB_URL is not set");
    expect((await h.store.listAudit()).map((a) => a.action)).toEqual(["approved", "granting", "failed"]);
    // The evaluation is named for what happened: every grant failed, none was granted.
    const evaluated = h.logs
      .filter((line) => line.includes("pull request evaluated"))
      .map((line) => JSON.parse(line) as { outcome: string });
    expect(evaluated.map((line) => line.outcome)).toEqual(["grant-failed"]);
  });

  it("undoes a PUT whose outcome is unknown and defers the grant instead of losing it", async () => {
    const gh = approvalReads([{ id: 1, user: bob, state: "APPROVED", commit_id: HEAD }])
      .publicKey("production", h.environmentKey)
      .pull({ number: 7, headSha: HEAD, baseSha: BASE, author: alice })
      .secretMetadata("production", "PROD_DB_URL", null)
      .putSecret("production", "PROD_DB_URL", 502)
      .deleteSecret("production", "PROD_DB_URL", 404)
      .repository()
      .checkRun()
      .comments(7)
      .comment(7);
    await h.probot.receive({
      id: "6",
      name: "pull_request_review",
      payload: reviewPayload("submitted", scenario, { id: 1, reviewer: bob, state: "approved" }) as never,
    });
    expect(nock.pendingMocks()).toEqual([]);
    const [grant] = await h.store.listGrants({ liveOnly: false });
    // Undone (the DELETE found nothing): nothing of the grant's own is left, and it holds nothing.
    expect(grant).toMatchObject({
      state: "granting",
      lastError: expect.stringContaining("writing the secret did not complete"),
      secretWrite: "none",
    });
    expect(gh.bodies("/check-runs")[0]).toMatchObject({
      status: "in_progress",
      output: { title: "Granting: GitHub could not take the write yet; retrying" },
    });
    expect(gh.body<CommentBody>("/comments").body).toContain("**Access is delayed**");
    assertNoValueLeaked(gh);
  });

  it("keeps a rate-limited grant due and writes it when the retry comes", async () => {
    approvalReads([{ id: 1, user: bob, state: "APPROVED", commit_id: HEAD }])
      .publicKey("production", h.environmentKey)
      .pull({ number: 7, headSha: HEAD, baseSha: BASE, author: alice })
      .secretMetadata("production", "PROD_DB_URL", null)
      .checkRun()
      .comments(7)
      .comment(7)
      .scope.put("/repos/acme/api/environments/production/secrets/PROD_DB_URL")
      .reply(403, { message: "You have exceeded a secondary rate limit." }, { "retry-after": "600" });
    const received = h.probot.receive({
      id: "7",
      name: "pull_request_review",
      payload: reviewPayload("submitted", scenario, { id: 1, reviewer: bob, state: "approved" }) as never,
    });
    // The refused PUT comes back through nock and the retry plugin: wait up to 10 s for the deferral
    // (a fixed number of promise turns was too few on a loaded machine).
    for (let turn = 0; turn < 2_000 && (await h.store.listGrants())[0]?.nextAttemptAt == null; turn++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    // GitHub refused the PUT: nothing of the grant's own can be there.
    expect((await h.store.listGrants())[0]).toMatchObject({
      state: "granting",
      lastError: expect.stringContaining("rate-limited"),
      secretWrite: "none",
    });

    // GitHub takes no request of the installation for 600 s (retry-after, longer than the retry
    // interval): the check run and the comment wait for it, and the retry is set for then, as the
    // PR is told. Before it nothing happens; after it, the PR is evaluated afresh and the write goes through.
    expect((await h.store.listGrants())[0]!.nextAttemptAt).toEqual(new Date(h.clock.now() + 600_000));
    await h.clock.advance(600_000 - 1);
    expect(nock.pendingMocks()).toHaveLength(3);
    expect(await retryDeferredGrants(h.deps, silentLog)).toBe(0);
    await h.clock.advance(1);
    await received;
    expect(nock.pendingMocks()).toEqual([]);
    // The environment's key is kept from the first attempt: not read again.
    // The retry first finds the grant's repository (its id under the recorded name), then evaluates its PR.
    const retry = approvalReads([{ id: 1, user: bob, state: "APPROVED", commit_id: HEAD }])
      .repository()
      .pull({ number: 7, headSha: HEAD, baseSha: BASE, author: alice })
      .secretMetadata("production", "PROD_DB_URL", null)
      .putSecret("production", "PROD_DB_URL")
      .secretMetadata("production", "PROD_DB_URL", "2026-03-01T10:00:31Z")
      .checkRun()
      .comment(7)
      .addLabels(7);
    expect(await retryDeferredGrants(h.deps, silentLog)).toBe(1);
    expect(nock.pendingMocks()).toEqual([]);
    const [grant] = await h.store.listGrants({ liveOnly: false });
    expect(grant).toMatchObject({ state: "active", lastError: null, nextAttemptAt: null });
    expect(h.environmentKey.open(retry.body<SecretBody>("/secrets/PROD_DB_URL").encrypted_value)).toBe(SECRET_VALUES.PROD_DB_URL);
  });

  it("says once that access is delayed, and updates that comment when a retry is deferred again", async () => {
    const keyFails = (gh: GitHubMock) =>
      gh.scope.get("/repos/acme/api/environments/production/secrets/public-key").reply(503, { message: "Service Unavailable" });
    const first = approvalReads([{ id: 1, user: bob, state: "APPROVED", commit_id: HEAD }])
      .pull({ number: 7, headSha: HEAD, baseSha: BASE, author: alice })
      .checkRun()
      .comments(7)
      .comment(7);
    keyFails(first);
    await h.probot.receive({
      id: "8",
      name: "pull_request_review",
      payload: reviewPayload("submitted", scenario, { id: 1, reviewer: bob, state: "approved" }) as never,
    });
    expect(nock.pendingMocks()).toEqual([]);
    const posted = first.body<CommentBody>("/issues/7/comments").body;
    expect(posted).toContain("**Access is delayed**");
    expect(posted).toContain(delayedCommentMarker(HEAD));

    // The retry meets the same failure. A comment by a person that copies the marker is not the app's.
    await h.clock.advance(GRANT_RETRY_MS);
    const retryAt = new Date(h.clock.now() + GRANT_RETRY_MS).toISOString();
    // Within the minute the permissions read for this head and approval are not read again.
    const second = approvalReads([{ id: 1, user: bob, state: "APPROVED", commit_id: HEAD }], { kept: true })
      .repository()
      .pull({ number: 7, headSha: HEAD, baseSha: BASE, author: alice })
      .checkRun()
      .comments(7, [
        { id: 41, body: posted },
        { id: 42, body: `me too ${delayedCommentMarker(HEAD)}`, bot: false },
      ])
      .updateComment(41);
    keyFails(second);
    expect(await retryDeferredGrants(h.deps, silentLog)).toBe(1);
    expect(nock.pendingMocks()).toEqual([]);
    const updated = second.body<CommentBody>("/issues/comments/41").body;
    expect(updated).toContain("**Access is delayed**");
    expect(updated).toContain(retryAt);
    expect(updated).toContain(delayedCommentMarker(HEAD));
    expect(second.bodies("/issues/7/comments")).toEqual([]);
  });
});
