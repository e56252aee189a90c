/**
 * Issue 19 §3: what the events anyone can cause cost the installation. The app runs in this
 * process as src/main.ts wires it (its Octokit, the per-PR coalescer, the lookup cache on the
 * test's clock) against the simulator, which records every request it serves; the attacks are
 * sent as GitHub would deliver them, one webhook per review.
 *
 * The repository is public (anyone may review) and its CODEOWNERS names ten teams, each with
 * write access and one member. Writes are not paced here, so the app's clock stays where it is
 * and no kept answer expires during a test: the counts below are what one head costs.
 */
import { afterEach, describe, expect, it } from "@jest/globals";
import { openRequest } from "../faults/helpers/request-prs.js";
import { startSimApp, type SimApp } from "../faults/helpers/sim-app.js";

const REPO = "acme/payments";
const INSTALLATION = 42;
const TEAMS = Array.from({ length: 10 }, (_, i) => `owners-${i}`);
const CATALOG = `secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/payments"]
    environments: [production]
    max_duration: 4h
    approvals: 1
`;

const MEMBERSHIP = "GET /orgs/{org}/teams/{team_slug}/memberships/{username}";
const TEAM_ACCESS = "GET /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}";
const PERMISSION = "GET /repos/{owner}/{repo}/collaborators/{username}/permission";

let app: SimApp | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

/** The app, the repository, and alice's request PR, evaluated once (waiting for approval). */
async function stage(): Promise<{ app: SimApp; pr: number }> {
  const started = await startSimApp({ catalog: CATALOG, writeIntervalMs: 0, notifyIntervalMs: 0, expiry: false });
  app = started;
  const { sim } = started;
  sim.addUser("alice");
  sim.createRepo(REPO, {
    installationId: INSTALLATION,
    private: false,
    collaborators: { alice: "write" },
    environments: ["production"],
    files: { ".github/CODEOWNERS": `jit-requests.yml ${TEAMS.map((t) => `@acme/${t}`).join(" ")}\n`, "jit-requests.yml": "requests: []\n" },
  });
  for (const [i, slug] of TEAMS.entries()) {
    sim.createTeam("acme", slug, [`owner-${i}`]);
    sim.setTeamRepoPermission("acme", slug, REPO, "write");
  }
  const pr = await started.deliver(() => openRequest(sim, REPO));
  expect(checks(started, pr).map((c) => c.output.title)).toEqual(["Waiting for approval: 0 of 1"]);
  return { app: started, pr };
}

function checks(app: SimApp, pr: number) {
  return app.sim.checkRuns(REPO, { headSha: app.sim.pullRequest(REPO, pr).headSha, name: "jit-access" });
}

/** The requests the simulator served from index `from` on, as "ROUTE" (or "METHOD PATH" when it matched none). */
function servedSince(app: SimApp, from: number): string[] {
  return app.sim.requests.slice(from).map((r) => r.route ?? `${r.method} ${r.path}`);
}

const count = (served: readonly string[], route: string) => served.filter((r) => r === route).length;

describe("no requester or reviewer can spend the installation's rate limit", () => {
  it("200 comment-only reviews on one PR cost no API call (the issue allows a handful)", async () => {
    const { app, pr } = await stage();
    const before = app.sim.requests.length;
    for (let i = 0; i < 200; i++) {
      const reviewer = `passer-by-${i % 20}`;
      app.sim.addUser(reviewer);
      await app.deliver(() => app.sim.submitReview(REPO, pr, { reviewer, state: "COMMENTED", body: `nit ${i}` }));
    }
    await app.settle();
    expect(app.sim.deliveries.filter((d) => d.event === "pull_request_review" && d.status === 200)).toHaveLength(200);
    expect(servedSince(app, before)).toEqual([]);
    expect(checks(app, pr)).toHaveLength(1);
  });

  it("a PR whose CODEOWNERS names 10 teams and which gets 10 non-owner approvals costs no membership lookups", async () => {
    // Non-owners: people who may approve on a public repository but are in none of the teams and
    // cannot write to it (GitHub requires write of a code owner). One permission read each says
    // so; their teams are never looked up, nor the teams' access.
    const { app, pr } = await stage();
    const before = app.sim.requests.length;
    for (let i = 0; i < 10; i++) {
      app.sim.addUser(`passer-by-${i}`);
      await app.deliver(() => app.sim.submitReview(REPO, pr, { reviewer: `passer-by-${i}`, state: "APPROVED" }));
    }
    const served = servedSince(app, before);
    // Each approval: one evaluation's fixed reads (PR, reviews, compare, 4 files, environments),
    // the approver's permission, the secret's metadata (read ahead of a grant, in case the approval
    // counts), and the check run: 11 requests; and the environment's key once (then kept).
    expect(served).toHaveLength(111);
    expect(count(served, MEMBERSHIP)).toBe(0);
    expect(count(served, TEAM_ACCESS)).toBe(0);
    // One read per approver, each kept for the head: not 1 + 2 + … + 10 = 55.
    expect(count(served, PERMISSION)).toBe(10);
    const last = checks(app, pr).at(-1)!;
    expect(last.output.title).toBe("Waiting for approval: 0 of 1");
    expect(last.output.summary).toContain("`@passer-by-9`: `has read access to the repository; a code owner needs write access`");

    // Control: a member of one of the teams approves; only now are teams looked up (one
    // membership check and one access read per team, for this approver), and the request is granted.
    const beforeOwner = app.sim.requests.length;
    await app.deliver(() => app.sim.submitReview(REPO, pr, { reviewer: "owner-7", state: "APPROVED" }));
    const forOwner = servedSince(app, beforeOwner);
    expect(count(forOwner, MEMBERSHIP)).toBe(10);
    expect(count(forOwner, TEAM_ACCESS)).toBe(10);
    expect(count(forOwner, PERMISSION)).toBe(1);
    expect(app.sim.secretValue(REPO, "production", "PROD_DB_URL")).toBeDefined();
  });

  it("10 approvals from people who can write but own nothing: one membership check per team and approver, none repeated", async () => {
    // The literal rule above cannot hold for them: only their memberships show they own nothing.
    // Each approval costs its approver's check in each team once; the teams' access is read once
    // for the head; events that repeat on the head read nothing again.
    const { app, pr } = await stage();
    const writers = Array.from({ length: 10 }, (_, i) => `writer-${i}`);
    for (const login of writers) app.sim.setCollaborator(REPO, login, "write");
    const before = app.sim.requests.length;
    for (const login of writers) await app.deliver(() => app.sim.submitReview(REPO, pr, { reviewer: login, state: "APPROVED" }));
    const served = servedSince(app, before);
    // Looked up for every candidate on every event, as before: 10 teams × (1 + 2 + … + 10) = 550 membership reads, 100 team reads, 55 permission reads.
    expect(count(served, MEMBERSHIP)).toBe(100);
    const checked = app.sim.requests
      .slice(before)
      .filter((r) => r.route === MEMBERSHIP)
      .map((r) => r.path);
    expect(new Set(checked).size).toBe(100);
    expect(count(served, TEAM_ACCESS)).toBe(10);
    expect(count(served, PERMISSION)).toBe(10);
    expect(checks(app, pr).at(-1)!.output.summary).toContain("`@writer-9`: `is not a code owner of jit-requests.yml`");

    // The same ten approvals delivered again: every answer is kept for the head.
    const beforeAgain = app.sim.requests.length;
    const approvals = app.sim.deliveries.filter((d) => d.event === "pull_request_review" && d.action === "submitted");
    expect(approvals).toHaveLength(10);
    for (const delivery of approvals) await app.redeliver(delivery.id);
    const again = servedSince(app, beforeAgain);
    expect([MEMBERSHIP, TEAM_ACCESS, PERMISSION].map((route) => count(again, route))).toEqual([0, 0, 0]);
    expect(again.length).toBeGreaterThan(0);
  });
});
