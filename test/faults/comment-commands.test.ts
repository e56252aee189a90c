/**
 * Comment commands on the request PR (`/jit status`, `/jit revoke`, `/jit extend`) and the
 * reminder before expiry, end to end: the app in this process against the simulator
 * (helpers/sim-app.ts), on a clock the test moves. Each command is run by someone it is open to
 * and by someone it is not; the app's own comments and edited comments are ignored; an
 * extension within policy moves the expiry (and the timer with it), one beyond it changes
 * nothing; the reminder is sent once, also across a restart of the scheduler on the same ledger.
 */
import { afterEach, describe, expect, it } from "@jest/globals";
import { ExpiryScheduler } from "../../src/app/expiry-scheduler.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { countRoute, OWNER, REQUESTER, SECRET_DELETE, SECRET_PUT } from "./helpers/request-prs.js";
import {
  approveRequest,
  commentBodies,
  ENVIRONMENT,
  expectNoValueLeaked,
  latestCheck,
  REPO,
  runUntilGranted,
  SECRET,
  secretValue,
  stageRequest,
  theGrant,
  type Stage,
} from "./helpers/scenario.js";
import { VALUE } from "./helpers/sim-app.js";

const CATALOG = `secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/*"]
    approvers: ["@bob"]
    environments: [production]
    max_duration: 4h
    extension: {max: 30m, times: 1}
`;
const MINUTE = 60_000;
/** A writer who is neither the requester nor a code owner. */
const WRITER = "dave";
/** Someone who can only read the repository. */
const READER = "carol";

let stage: Stage | undefined;
afterEach(async () => {
  expect(stage?.app.sim.violations ?? []).toEqual([]);
  if (stage) expectNoValueLeaked(stage);
  await stage?.app.close();
  stage = undefined;
});

async function staged(options: { duration?: string; catalog?: string } = {}): Promise<Stage> {
  const s = await stageRequest({ catalog: options.catalog ?? CATALOG, duration: options.duration ?? "2h" });
  s.app.sim.addUser(WRITER);
  s.app.sim.addUser(READER);
  s.app.sim.setCollaborator(REPO, WRITER, "write");
  s.app.sim.setCollaborator(REPO, READER, "read");
  return s;
}

/**
 * Comments as `author` and runs the app until it has handled the command (its audit record, the
 * last thing a command writes, is there), or for a minute when `ignored`. Returns the app's
 * comments posted meanwhile.
 */
async function command(
  s: Stage,
  author: string,
  body: string,
  options: { ignored?: boolean } = {},
): Promise<{ id: number; replies: string[] }> {
  const { app } = s;
  const before = app.sim.comments(REPO, s.pr).length;
  const audits = (await commandAudits(s)).length;
  const id = await app.deliver(() => app.sim.commentOnPullRequest(REPO, s.pr, { author, body }));
  const started = app.clock.now();
  await app.runUntil(async () => (options.ignored ? app.clock.now() - started >= 60_000 : (await commandAudits(s)).length > audits), {
    maxMs: 300_000,
    what: `the command ${JSON.stringify(body)}`,
  });
  const replies = app.sim
    .comments(REPO, s.pr)
    .slice(before)
    .filter((c) => c.id !== id && c.author === app.sim.botLogin)
    .map((c) => c.body);
  return { id, replies };
}

async function commandAudits(s: Stage): Promise<Record<string, unknown>[]> {
  return (await s.app.store.listAudit()).filter((e) => e.action === "command").map((e) => ({ actor: e.actor, ...e.details }));
}

const reactions = (s: Stage, id: number): string[] => s.app.sim.comments(REPO, s.pr).find((c) => c.id === id)?.reactions ?? [];

describe("/jit status", () => {
  it("tells a writer what the request waits for and, once granted, the live grant; it changes nothing", async () => {
    stage = await staged();
    const checksBefore = stage.app.sim.checkRuns(REPO).length;
    const waiting = await command(stage, REQUESTER, "/JIT Status");
    expect(waiting.replies).toHaveLength(1);
    expect(waiting.replies[0]).toContain("**jit-access status**");
    expect(waiting.replies[0]).toContain("Waiting for approval: 0 of 1");
    expect(waiting.replies[0]).toContain("**Live grants:** none.");
    expect(reactions(stage, waiting.id)).toEqual([`eyes by ${stage.app.sim.botLogin}`]);
    // Nothing written but the reaction and the reply: no check run, no secret, no grant.
    expect(stage.app.sim.checkRuns(REPO)).toHaveLength(checksBefore);
    expect(await theGrant(stage.app)).toBeUndefined();

    await approveRequest(stage);
    const grant = await runUntilGranted(stage);
    const granted = await command(stage, OWNER, "/jit status\nplease");
    expect(granted.replies[0]).toContain("**Live grants:**");
    expect(granted.replies[0]).toContain("`PROD_DB_URL`");
    expect(await theGrant(stage.app)).toEqual(grant);
    expect(countRoute(stage.app.sim, SECRET_PUT)).toBe(1);
    expect(await commandAudits(stage)).toEqual([
      expect.objectContaining({ actor: REQUESTER, command: "/jit status", outcome: "done", read: "waiting" }),
      expect.objectContaining({ actor: OWNER, command: "/jit status", outcome: "done", liveGrants: 1 }),
    ]);
  }, 120_000);

  it("refuses someone who cannot write, with a short reply and nothing else", async () => {
    stage = await staged();
    const { replies } = await command(stage, READER, "/jit status");
    expect(replies).toEqual(["`@carol`: only people with write access to this repository may run /jit commands. Nothing was changed."]);
    expect(await commandAudits(stage)).toEqual([expect.objectContaining({ actor: READER, command: "/jit status", outcome: "refused" })]);
  });
});

describe("/jit revoke", () => {
  it("the requester ends the live grant now: the secret is deleted and the grant revoked with the reason", async () => {
    stage = await staged();
    await approveRequest(stage);
    await runUntilGranted(stage);
    const { replies } = await command(stage, REQUESTER, "/jit revoke done with the migration");
    expect(secretValue(stage.app)).toBeUndefined();
    expect(countRoute(stage.app.sim, SECRET_DELETE)).toBe(1);
    expect(await theGrant(stage.app)).toMatchObject({ state: "revoked", endReason: "done with the migration" });
    expect(replies).toEqual([
      "**Access revoked:** `PROD_DB_URL` in environment `production` (`done with the migration`). The secret has been deleted.",
      "**/jit revoke:**\n\n- `PROD_DB_URL` in `production`: revoked",
    ]);
    expect(stage.app.sim.labels(REPO, stage.pr)).toEqual(["jit:revoked"]);
    const revoked = (await stage.app.store.listAudit()).find((e) => e.action === "revoked");
    expect(revoked).toMatchObject({ actor: REQUESTER, details: expect.objectContaining({ command: "/jit revoke" }) });
  });

  it("a code owner who may approve ends it too", async () => {
    stage = await staged();
    await approveRequest(stage);
    await runUntilGranted(stage);
    await command(stage, OWNER, "/jit revoke");
    expect(secretValue(stage.app)).toBeUndefined();
    expect(await theGrant(stage.app)).toMatchObject({ state: "revoked", endReason: "revoked with /jit revoke by @bob" });
  });

  it("refuses a writer who is neither the requester nor a code owner: the secret stays", async () => {
    stage = await staged();
    await approveRequest(stage);
    await runUntilGranted(stage);
    const { replies } = await command(stage, WRITER, "/jit revoke");
    expect(replies).toEqual([
      expect.stringContaining("only the requester or a code owner who may approve this request may revoke its access."),
    ]);
    expect(secretValue(stage.app)).toBe(VALUE);
    expect(await theGrant(stage.app)).toMatchObject({ state: "active" });
    expect(await commandAudits(stage)).toEqual([expect.objectContaining({ actor: WRITER, command: "/jit revoke", outcome: "refused" })]);
  });

  it("ignores the app's own comments and edited comments", async () => {
    stage = await staged();
    await approveRequest(stage);
    await runUntilGranted(stage);
    const before = commentBodies(stage).length;
    const own = await command(stage, stage.app.sim.botLogin, "/jit revoke", { ignored: true });
    expect(own.replies).toEqual([]);
    expect(reactions(stage, own.id)).toEqual([]);
    const id = await stage.app.deliver(() => stage!.app.sim.commentOnPullRequest(REPO, stage!.pr, { author: REQUESTER, body: "thanks!" }));
    await stage.app.deliver(() =>
      stage!.app.sim.commentOnPullRequest(REPO, stage!.pr, { author: REQUESTER, body: "/jit revoke", edit: id }),
    );
    await stage.app.settle();
    // The app's own comment and "thanks!" (edited): no reply to either.
    expect(commentBodies(stage)).toHaveLength(before + 2);
    expect(secretValue(stage.app)).toBe(VALUE);
    expect(await commandAudits(stage)).toEqual([]);
  });
});

describe("/jit extend", () => {
  it("the requester extends within policy: the expiry moves, and the grant ends at the new time, not the old", async () => {
    stage = await staged();
    await approveRequest(stage);
    const grant = await runUntilGranted(stage);
    const { replies } = await command(stage, REQUESTER, "/jit extend 30m the migration is slow");
    const extended = await theGrant(stage.app);
    expect(extended?.expiresAt.getTime()).toBe(grant.expiresAt.getTime() + 30 * MINUTE);
    expect(replies).toEqual([expect.stringContaining("- `PROD_DB_URL` in `production`: extended by `30m`; now expires")]);
    expect(await stage.app.store.followUp(grant.id)).toMatchObject({ extensions: 1 });
    const audit = (await stage.app.store.listAudit()).find((e) => e.action === "extended");
    expect(audit).toMatchObject({
      actor: REQUESTER,
      grantId: grant.id,
      details: expect.objectContaining({ by: "30m", reason: "the migration is slow" }),
    });

    // Past the old expiry the secret is still there (the timer moved with it) ...
    const { app } = stage;
    await app.runUntil(() => app.clock.now() >= grant.expiresAt.getTime() + MINUTE, {
      maxMs: 3 * 3_600_000,
      // The timers fire at their exact times within a step; long steps keep two hours of app time short.
      stepMs: 10 * MINUTE,
      what: "the old expiry",
    });
    expect(secretValue(app)).toBe(VALUE);
    expect(await theGrant(app)).toMatchObject({ state: "active" });
    // ... and at the new one it ends, and the PR is told (its comment and labels are paced
    // writes on the app's clock: the test waits for them before the app stops). Steps stay well
    // under the requests' 30 s deadline: the label write reads the PR's labels in its turn, then
    // sends its PUT, and a longer step taken between the two would abandon the PUT.
    await app.runUntil(
      async () =>
        (await theGrant(app))?.state === "expired" &&
        commentBodies(stage!).some((body) => body.startsWith("**Access expired:**")) &&
        app.sim.labels(REPO, stage!.pr).includes("jit:expired"),
      { maxMs: 40 * MINUTE, stepMs: 5_000, what: "the new expiry, told on the PR" },
    );
    expect(secretValue(app)).toBeUndefined();
    expect((await theGrant(app))?.endedAt?.getTime()).toBeGreaterThanOrEqual(extended!.expiresAt.getTime());
  });

  it("refuses beyond policy: more than max, more times than allowed, past max_duration, or by anyone but the requester", async () => {
    stage = await staged({ duration: "3h45m" });
    await approveRequest(stage);
    const grant = await runUntilGranted(stage);
    const tooLong = await command(stage, REQUESTER, "/jit extend 45m");
    expect(tooLong.replies[0]).toContain("not extended: `the catalog allows at most 30m per extension`");
    expect(tooLong.replies[0]).toContain("add a new entry to the requests file");
    const pastMax = await command(stage, REQUESTER, "/jit extend 30m");
    expect(pastMax.replies[0]).toContain("at most 15m more fits within the catalog's max_duration of 4h from the first write");
    const byOwner = await command(stage, OWNER, "/jit extend 10m");
    expect(byOwner.replies).toEqual([expect.stringContaining("only the requester, `@alice`, may extend this request's access.")]);
    expect((await theGrant(stage.app))?.expiresAt).toEqual(grant.expiresAt);

    const once = await command(stage, REQUESTER, "/jit extend 15m");
    expect(once.replies[0]).toContain("extended by `15m`");
    const twice = await command(stage, REQUESTER, "/jit extend 1m");
    expect(twice.replies[0]).toContain("the most the catalog allows");
    expect((await theGrant(stage.app))?.expiresAt.getTime()).toBe(grant.expiresAt.getTime() + 15 * MINUTE);
    expect((await stage.app.store.listAudit()).filter((e) => e.action === "extended")).toHaveLength(1);
  }, 180_000);

  it("refuses where the catalog allows no extension", async () => {
    stage = await staged({ catalog: CATALOG.replace("    extension: {max: 30m, times: 1}\n", "") });
    await approveRequest(stage);
    const grant = await runUntilGranted(stage);
    const { replies } = await command(stage, REQUESTER, "/jit extend 10m");
    expect(replies[0]).toContain("the catalog does not allow extending this secret");
    expect((await theGrant(stage.app))?.expiresAt).toEqual(grant.expiresAt);
  });
});

describe("the reminder before expiry", () => {
  const reminders = (s: Stage) => commentBodies(s).filter((b) => b.includes("**Access ends soon:**"));

  it("is sent once, 10 minutes before expiry, mentioning the requester with the /jit extend command; not again after a restart", async () => {
    stage = await staged({ duration: "1h" });
    const { app } = stage;
    await approveRequest(stage);
    const grant = await runUntilGranted(stage);
    const dueAt = grant.expiresAt.getTime() - 10 * MINUTE;
    await app.runUntil(() => app.clock.now() >= dueAt - MINUTE, { maxMs: 3_600_000, stepMs: 60_000, what: "just before the reminder" });
    expect(reminders(stage)).toEqual([]);
    await app.runUntil(() => reminders(stage!).length > 0, { maxMs: 5 * MINUTE, stepMs: 5_000, what: "the reminder" });
    // Sent at its time (the scheduler arms a timer for it), not a sweep interval later.
    expect(app.clock.now() - dueAt).toBeLessThan(10_000);
    expect(reminders(stage)).toEqual([
      expect.stringMatching(/^@alice \*\*Access ends soon:\*\* `PROD_DB_URL` in environment `production` expires .* \(in 10m\)\./u),
    ]);
    expect(reminders(stage)[0]).toContain("```\n/jit extend 30m\n```");

    // A restart: a new scheduler on the ledger reopened from its file sends nothing again.
    await app.expiry.stop();
    const reopened = await openLedger(app.databaseUrl!);
    const restarted = new ExpiryScheduler({ ...app.deps, store: reopened }, app.log, 60_000);
    try {
      await restarted.start();
      await app.clock.advance(2 * MINUTE, () => app.settle());
      await restarted.idle();
      await app.settle();
    } finally {
      await restarted.stop();
      await reopened.close();
    }
    expect(reminders(stage)).toHaveLength(1);
    expect((await app.store.listAudit()).filter((e) => e.action === "reminded")).toEqual([
      expect.objectContaining({ grantId: grant.id, environment: ENVIRONMENT, secret: SECRET }),
    ]);
    expect(latestCheck(stage)?.conclusion).toBe("success");
  });

  it("comes at half the duration for a grant under 20 minutes, and at notify_before when the catalog sets it", async () => {
    stage = await staged({ duration: "10m", catalog: CATALOG.replace("    extension: {max: 30m, times: 1}\n", "") });
    const { app } = stage;
    await approveRequest(stage);
    const grant = await runUntilGranted(stage);
    await app.runUntil(() => reminders(stage!).length > 0, { maxMs: 10 * MINUTE, stepMs: 5_000, what: "the reminder" });
    expect(Math.abs(app.clock.now() - (grant.expiresAt.getTime() - 5 * MINUTE))).toBeLessThan(10_000);
    expect(reminders(stage)[0]).toContain("The catalog does not allow extending it further.");
  });
});
