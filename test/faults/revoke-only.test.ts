/**
 * The catalog failed to load, and grants are live: the server runs revoke-only. Revocation never
 * reads the catalog, so every grant still ends — at its expiry (timer and sweep), when its PR is
 * closed, when its approval is dismissed — while nothing is granted: a pull request asking for
 * access is told the catalog is invalid. `/readyz` says why, and the catalog's error is logged at
 * every sweep interval. The app runs in this process (helpers/sim-app.ts) on the manual clock,
 * on a ledger file that holds a live grant, as it finds one after a restart.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "@jest/globals";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { Grant, LedgerStore } from "../../src/ledger/store.js";
import { countRoute, createRequestRepo, OWNER, REQUESTER, requestsFile, SECRET_DELETE, SECRET_PUT } from "./helpers/request-prs.js";
import { ENVIRONMENT, INSTALLATION, REPO, SECRET, SECRET_PATH, requestsTo } from "./helpers/scenario.js";
import { START, startSimApp, VALUE, type SimApp } from "./helpers/sim-app.js";

const CATALOG_ERROR = "/etc/jit-access/jit-catalog.yml:7:19: secrets.PROD_DB_URL.max_duration: expected a duration like 30m or 4h";
const SWEEP_EVERY = 60_000;
const REVOKE_ONLY_LOG =
  "the catalog failed to load: running revoke-only (grants end on time; nothing is granted and deferred grants are not retried until the catalog is fixed and the app restarted)";
const REFUSED_TITLE = "Nothing can be granted: the operator catalog is invalid";

let app: SimApp | undefined;
let store: LedgerStore | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  expect(app?.sim.violations ?? []).toEqual([]);
  await app?.close();
  await store?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  app = store = dataDir = undefined;
});

let branches = 0;
async function openRequestPr(a: SimApp, options: { deliver: boolean; reason?: string }): Promise<number> {
  branches += 1;
  a.sim.commit(
    REPO,
    `need-access-${branches}`,
    { "jit-requests.yml": requestsFile([{ duration: "1h", ...(options.reason ? { reason: options.reason } : {}) }]) },
    { from: "main", author: REQUESTER },
  );
  return a.deliver(() =>
    a.sim.openPullRequest(REPO, {
      head: `need-access-${branches}`,
      base: "main",
      author: REQUESTER,
      title: "Access to PROD_DB_URL",
      deliver: options.deliver,
    }),
  );
}

/**
 * The app started revoke-only on a ledger holding one live grant of PROD_DB_URL, made (before
 * the restart) for PR `pr`, approved by @bob, its secret in the environment; expiring `expiresInMs` from now.
 */
async function revokeOnlyWithLiveGrant(expiresInMs: number): Promise<{ app: SimApp; grant: Grant; pr: number; reviewId: number }> {
  dataDir = mkdtempSync(join(tmpdir(), "jit-revoke-only-"));
  store = await openLedger(`sqlite:${join(dataDir, "jit-access.db")}`);
  const a = (app = await startSimApp({ store, revokeOnly: CATALOG_ERROR, sweepIntervalMs: SWEEP_EVERY }));
  createRequestRepo(a.sim, REPO, { installationId: INSTALLATION });
  // The PR and its approval happened before the restart: not delivered to this process.
  const pr = await openRequestPr(a, { deliver: false });
  const reviewId = await a.sim.submitReview(REPO, pr, { reviewer: OWNER, state: "APPROVED", deliver: false });
  a.sim.setSecret(REPO, ENVIRONMENT, SECRET, VALUE);
  const pull = a.sim.pullRequest(REPO, pr);
  const now = a.clock.now();
  const durationMs = expiresInMs;
  const { grant: begun } = await store.beginGrant({
    installationId: INSTALLATION,
    repositoryId: a.sim.repository(REPO)!.id,
    owner: "acme",
    repo: "api",
    environment: ENVIRONMENT,
    secret: SECRET,
    requester: { id: a.sim.addUser(REQUESTER).id, login: REQUESTER },
    prNumber: pr,
    headSha: pull.headSha,
    approvers: [{ id: a.sim.addUser(OWNER).id, login: OWNER }],
    reason: "INC-4200: inspect stuck migrations",
    durationMs,
    requestKey: `before-the-restart-${pr}`,
    createdAt: new Date(now),
    expiresAt: new Date(now + durationMs),
  });
  const grant = await store.markActive(begun.id, new Date(now));
  return { app: a, grant, pr, reviewId };
}

/** Becomes done once `work` has settled (the app answered a delivery, the scheduler went idle). */
function answeredFlag(work: Promise<unknown>): { done: boolean } {
  const flag = { done: false };
  const done = (): void => void (flag.done = true);
  work.then(done, done);
  return flag;
}

async function readyz(a: SimApp): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${a.url}/readyz`);
  return { status: response.status, body: await response.json() };
}

describe("revoke-only: the catalog failed to load", () => {
  it("a live grant still ends at its expiry; a new approval is refused with the message; /readyz and the log say why", async () => {
    const { app: a, grant, pr: before } = await revokeOnlyWithLiveGrant(5 * 60_000);

    expect(await readyz(a)).toEqual({
      status: 503,
      body: {
        ready: false,
        reasons: [
          {
            code: "revoke-only",
            message:
              "revoke-only: the catalog (JIT_CATALOG) failed to load, so nothing can be granted until it is fixed and the app restarted; grants still end on time; see the log",
          },
        ],
      },
    });
    expect((await fetch(`${a.url}/healthz`)).status).toBe(200);

    // A new request, approved by the code owner: refused, nothing written, the PR told why.
    const reason = "INC-4300: <img src=x onerror=alert(1)> **urgent** @acme/everyone";
    const pr = await openRequestPr(a, { deliver: true, reason });
    const approval = a.deliver(() => a.sim.submitReview(REPO, pr, { reviewer: OWNER, state: "APPROVED" }));
    const headSha = a.sim.pullRequest(REPO, pr).headSha;
    // One check run for the opening, one for the approval (each write waits its paced turn).
    await a.runUntil(() => a.sim.checkRuns(REPO, { headSha, name: "jit-access" }).length === 2, { maxMs: 60_000, what: "the check runs" });
    await approval;
    const checks = a.sim.checkRuns(REPO, { headSha, name: "jit-access" });
    for (const check of checks) {
      expect(check).toMatchObject({ status: "completed", conclusion: "failure", output: { title: REFUSED_TITLE } });
      expect(check.output.summary).toBe(
        "jit-access could not load its operator catalog (it is missing or invalid), so it is running **revoke-only**: it grants nothing until an operator fixes the catalog. Grants already made still end on time.\n\n" +
          "Once the catalog is fixed, push a commit or approve the pull request again to have it evaluated again.",
      );
    }
    // Nothing of the request's text, the catalog's path or its error reaches the PR.
    const shown = JSON.stringify(checks) + JSON.stringify(a.sim.comments(REPO, pr));
    for (const text of ["INC-4300", "<img", "@acme/everyone", "/etc/jit-access", "max_duration"]) expect(shown).not.toContain(text);
    expect(countRoute(a.sim, SECRET_PUT)).toBe(0);
    expect(await store!.listGrants({ prNumber: pr })).toEqual([]);
    expect(a.logs.join("\n")).toContain("the pull request was told nothing can be granted");

    // The live grant ends on time: its exact timer fires at the expiry.
    await a.runUntil(() => a.sim.secretValue(REPO, ENVIRONMENT, SECRET) === undefined, { maxMs: 10 * 60_000, what: "the deletion" });
    const deletes = requestsTo(a, SECRET_PATH, "DELETE");
    expect(deletes).toHaveLength(1);
    expect(deletes[0]!.at).toBeGreaterThanOrEqual(grant.expiresAt.getTime());
    expect(deletes[0]!.at - grant.expiresAt.getTime()).toBeLessThanOrEqual(2_000);
    await a.runUntil(
      async () => (await store!.getGrant(grant.id))?.state === "expired" && a.sim.labels(REPO, before).includes("jit:expired"),
      { maxMs: 60_000, what: "the end recorded and told" },
    );
    expect(a.sim.comments(REPO, before).filter((c) => c.body.startsWith("**Access expired:**"))).toHaveLength(1);

    // The catalog's error at every sweep interval (the first sweep, at start, included).
    const ticks = 1 + Math.floor((a.clock.now() - START) / SWEEP_EVERY);
    const errors = a.logs
      .map((line) => JSON.parse(line) as { level: number; msg: string; catalogError?: string })
      .filter((entry) => entry.msg === REVOKE_ONLY_LOG);
    expect(errors).toHaveLength(ticks);
    expect(errors.every((entry) => entry.level === 50 && entry.catalogError === CATALOG_ERROR)).toBe(true);
    expect(a.logs.join("\n")).not.toContain(VALUE);
  }, 120_000);

  it("closing the grant's PR unmerged still revokes it at once", async () => {
    const { app: a, grant, pr } = await revokeOnlyWithLiveGrant(60 * 60_000);

    const answered = answeredFlag(a.deliver(() => a.sim.closePullRequest(REPO, pr, { merged: false })));
    // Until the delivery is answered: the revocation, then its paced comment and labels.
    await a.runUntil(() => answered.done, { maxMs: 60_000, what: "the revocation" });

    expect(await store!.getGrant(grant.id)).toMatchObject({ state: "revoked", endReason: "pull request closed without merging" });
    expect(a.sim.secretValue(REPO, ENVIRONMENT, SECRET)).toBeUndefined();
    expect(countRoute(a.sim, SECRET_DELETE, { ok: true })).toBe(1);
  }, 120_000);

  it("a dismissed approval still ends the grant it counted for", async () => {
    const { app: a, grant, pr, reviewId } = await revokeOnlyWithLiveGrant(60 * 60_000);

    const answered = answeredFlag(a.deliver(() => a.sim.dismissReview(REPO, pr, reviewId, { by: OWNER })));
    await a.runUntil(() => answered.done, { maxMs: 60_000, what: "the revocation" });

    expect(await store!.getGrant(grant.id)).toMatchObject({
      endReason: "the approval by @bob was dismissed, and 0 of the 1 required approval remain",
    });
    expect(a.sim.secretValue(REPO, ENVIRONMENT, SECRET)).toBeUndefined();
  }, 120_000);

  it("deferred grants are not retried (their values come from the catalog); they still end at their expiry", async () => {
    const { app: a, grant } = await revokeOnlyWithLiveGrant(3 * 60_000);
    const { installationId, owner, repo, environment, secret, requester, prNumber, headSha, approvers, reason, durationMs } = grant;
    const deferred = (
      await store!.beginGrant({
        ...{ installationId, owner, repo, environment, secret, requester, prNumber, headSha, approvers, reason, durationMs },
        requestKey: "deferred-before-the-restart",
        createdAt: new Date(a.clock.now()),
        expiresAt: new Date(a.clock.now() + durationMs),
      })
    ).grant;
    await store!.deferGrant(deferred.id, "GitHub answered 502", new Date(a.clock.now() + 30_000));

    const ended = async (id: string) => (await store!.getGrant(id))?.state === "expired";
    await a.runUntil(
      async () => (await ended(deferred.id)) && (await ended(grant.id)) && a.sim.secretValue(REPO, ENVIRONMENT, SECRET) === undefined,
      {
        maxMs: 10 * 60_000,
        what: "both grants' ends",
      },
    );

    const idle = answeredFlag(a.expiry.idle()); // the PR told of both ends (paced comments and labels)
    await a.runUntil(() => idle.done, { maxMs: 60_000, what: "the feedback" });

    expect(countRoute(a.sim, SECRET_PUT)).toBe(0);
    expect(requestsTo(a, /\/environments\/production\/secrets\/public-key$/)).toEqual([]);
  }, 120_000);
});
