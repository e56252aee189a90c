import { describe, expect, it } from "@jest/globals";
import type { EnvironmentInfo, FileContent } from "../../src/github/repo-client.js";
import { decidePullRequest, type Decision } from "../../src/approve/decide-pull-request.js";
import type { ApprovalFacts, PullRequestFacts } from "../../src/approve/pull-request-facts.js";
import type { Grant } from "../../src/ledger/store.js";
import type { Review } from "../../src/approve/decide-approval.js";
import { activeGrant } from "../helpers/grant-fixture.js";
import { parseCatalog } from "../../src/policy/load-catalog.js";

/** The decision is pure: each case is facts in, decision out, with no GitHub and no ledger. */
const catalog = parseCatalog(
  `secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/api"]
    environments: [production]
    max_duration: 4h
  PAYMENTS_KEY:
    source: env:PAYMENTS_KEY
    repositories: ["acme/api"]
    environments: [production]
    max_duration: 1h
    approvals: 2
`,
  "catalog.yml",
);

const HEAD = "a".repeat(40);
const OLD = "c".repeat(40);
const MERGE_BASE = "d".repeat(40);
const NOW = Date.parse("2026-06-01T12:00:00Z");
const alice = { id: 101, login: "alice" };
const bob = { id: 202, login: "bob" };
const carol = { id: 303, login: "carol" };
const dave = { id: 404, login: "dave" };

const REQUEST = `requests:
  - secret: PROD_DB_URL
    environment: production
    duration: 2h
    reason: "INC-4211: inspect stuck migrations"
`;
const TWO_APPROVALS = `requests:
  - secret: PAYMENTS_KEY
    environment: production
    duration: 30m
    reason: "INC-4212: refund stuck payments"
`;

const file = (text: string): FileContent => ({ text, size: Buffer.byteLength(text) });
const environment = (name: string, protectionRules: string[] = []): EnvironmentInfo => ({ name, protectionRules, branchPolicy: false });
const approve = (user: { id: number; login: string }, commit = HEAD, state = "APPROVED"): Review => ({
  id: user.id * 10,
  user,
  state,
  commit_id: commit,
});

function facts(over: {
  state?: "open" | "closed";
  head?: string | null;
  base?: string | null;
  /** The file at the base branch's tip; default: as at the merge base. */
  baseTip?: string | null;
  headSize?: number;
  policy?: { ok: false; message: string };
  approval?: Partial<ApprovalFacts>;
  fork?: boolean;
}): PullRequestFacts {
  const head = over.head === undefined ? REQUEST : over.head;
  const base = over.base === undefined ? null : over.base;
  const baseTip = over.baseTip === undefined ? base : over.baseTip;
  return {
    repository: { id: 100_001, defaultBranch: "main", fullName: "acme/api", owner: "acme", name: "api" },
    pr: {
      number: 7,
      state: over.state ?? "open",
      merged: false,
      headSha: HEAD,
      headRepoFullName: over.fork ? "alice/api" : "acme/api",
      baseRef: "main",
      baseSha: "b".repeat(40),
      author: alice,
    },
    files: {
      policy: over.policy ?? { ok: true, repoConfig: { requestsFile: "jit-requests.yml" } },
      path: "jit-requests.yml",
      mergeBaseSha: MERGE_BASE,
      head: head === null ? null : over.headSize === undefined ? file(head) : { text: "", size: over.headSize },
      mergeBase: base === null ? null : file(base),
      baseTip: baseTip === null ? null : file(baseTip),
    },
    approval: {
      environments: [environment("production")],
      authorPermission: "write",
      owners: [
        { kind: "user", login: "bob" },
        { kind: "user", login: "carol" },
        { kind: "team", org: "acme", slug: "dba" },
      ],
      reviews: [],
      teamMembers: new Map([["acme/dba", new Set([dave.id])]]),
      reviewerPermissions: new Map([bob, carol, dave, alice].map((p) => [p.id, "write"])),
      teamPermissions: new Map([["acme/dba", "write"]]),
      liveGrants: [],
      ...over.approval,
    },
  };
}

const decide = (f: PullRequestFacts): Decision => decidePullRequest(f, { catalog, now: NOW, trigger: "test" });

describe("decidePullRequest", () => {
  const cases: { name: string; facts: PullRequestFacts; kind: Decision["kind"]; approvers?: string[] }[] = [
    { name: "a closed pull request", facts: facts({ state: "closed" }), kind: "closed" },
    { name: "a file the PR does not change", facts: facts({ head: REQUEST, base: REQUEST }), kind: "untouched" },
    { name: "no requests file on either side", facts: facts({ head: null, base: null }), kind: "untouched" },
    { name: "an unreadable repository config", facts: facts({ policy: { ok: false, message: "bad config" } }), kind: "policy-error" },
    { name: "a secret that is not in the catalog", facts: facts({ head: REQUEST.replace("PROD_DB_URL", "NOPE") }), kind: "invalid" },
    { name: "a request from a fork", facts: facts({ fork: true }), kind: "invalid" },
    { name: "an author without write permission", facts: facts({ approval: { authorPermission: "read" } }), kind: "invalid" },
    {
      name: "an environment the repository lacks",
      facts: facts({ approval: { environments: [environment("staging")] } }),
      kind: "invalid",
    },
    { name: "a file over the size cap", facts: facts({ headSize: 10 * 1024 * 1024 }), kind: "invalid" },
    { name: "only removals", facts: facts({ head: "requests: []\n", base: REQUEST }), kind: "removal-only" },
    { name: "no review yet", facts: facts({}), kind: "waiting" },
    {
      name: "the author's own approval",
      facts: facts({ approval: { reviews: [approve(alice)], owners: [{ kind: "user", login: "alice" }] } }),
      kind: "waiting",
    },
    { name: "an approval of an older commit", facts: facts({ approval: { reviews: [approve(bob, OLD)] } }), kind: "waiting" },
    {
      name: "an approval by someone who owns nothing",
      facts: facts({ approval: { reviews: [approve({ id: 909, login: "mallory" })] } }),
      kind: "waiting",
    },
    {
      name: "an approval later dismissed",
      facts: facts({ approval: { reviews: [approve(bob), approve(bob, HEAD, "DISMISSED")] } }),
      kind: "waiting",
    },
    {
      name: "a code owner's approval of the head",
      facts: facts({ approval: { reviews: [approve(bob)] } }),
      kind: "approved",
      approvers: ["bob"],
    },
    { name: "a team member's approval", facts: facts({ approval: { reviews: [approve(dave)] } }), kind: "approved", approvers: ["dave"] },
    {
      name: "one of two required approvals",
      facts: facts({ head: TWO_APPROVALS, approval: { reviews: [approve(bob)] } }),
      kind: "waiting",
    },
    {
      name: "two distinct owners for two required",
      facts: facts({ head: TWO_APPROVALS, approval: { reviews: [approve(bob), approve(carol)] } }),
      kind: "approved",
      approvers: ["bob", "carol"],
    },
  ];

  it.each(cases)("$name → $kind", ({ facts: f, kind, approvers }) => {
    const decision = decide(f);
    expect(decision.kind).toBe(kind);
    if (decision.kind === "approved") {
      expect(decision.grant.items.flatMap((i) => i.approvers.map((a) => a.login))).toEqual(approvers);
      expect(decision.grant.mergeBaseSha).toBe(MERGE_BASE);
      expect(decision.grant.headSha).toBe(HEAD);
      expect(decision.grant.requester).toEqual(alice);
    }
  });

  describe("the request is what the head adds over the merge base", () => {
    const LEGACY = `  - secret: PAYMENTS_KEY
    environment: production
    duration: 1h
    reason: "old entry that main has since removed"
`;
    it("a PR that does not touch the file, cut before main removed an entry, requests nothing", () => {
      // The branch still carries LEGACY; main has removed it. Against the base tip it would look added.
      expect(
        decide(
          facts({
            head: REQUEST + LEGACY,
            base: REQUEST + LEGACY,
            baseTip: REQUEST,
            approval: { reviews: [approve(bob), approve(carol)] },
          }),
        ).kind,
      ).toBe("untouched");
    });

    it("grants nothing while the base branch has changed the file since the merge base", () => {
      const head = REQUEST + LEGACY + TWO_APPROVALS.replace("requests:\n", "").replace("PAYMENTS_KEY", "PROD_DB_URL").replace("30m", "1h");
      const decision = decide(
        facts({ head, base: REQUEST + LEGACY, baseTip: REQUEST, approval: { reviews: [approve(bob), approve(carol)] } }),
      );
      if (decision.kind !== "invalid") throw new Error(`expected invalid, got ${decision.kind}`);
      expect(decision.problems.map((p) => p.message)).toEqual([
        expect.stringContaining("changed on main since this branch was cut (merge base ddddddd)"),
      ]);
    });

    it.each([
      ["does not parse", { base: "requests: [\n" }, "at the merge base ddddddd cannot be read (line"],
      ["is over the size limit", { base: null, mergeBaseSize: 10 * 1024 * 1024 }, "over the size limit"],
    ])("fails closed when the merge base's file %s", (_, over, message) => {
      const f = facts({ base: over.base ?? null, approval: { reviews: [approve(bob)] } });
      if ("mergeBaseSize" in over) f.files!.mergeBase = f.files!.baseTip = { text: "", size: over.mergeBaseSize };
      const decision = decide(f);
      if (decision.kind !== "invalid") throw new Error(`expected invalid, got ${decision.kind}`);
      expect(decision.problems.map((p) => p.message)).toContainEqual(expect.stringContaining(message));
    });
  });

  describe("catalog rules per secret", () => {
    const withSecret = (name: string, extra: object) => ({
      ...catalog,
      secrets: new Map([...catalog.secrets, [name, { ...catalog.secrets.get(name)!, ...extra }]]),
    });

    it("refuses an unprotected environment when the secret requires protection, at the environment's line", () => {
      const strict = withSecret("PROD_DB_URL", { requireProtectedEnvironment: true });
      const bare = decidePullRequest(facts({ approval: { reviews: [approve(bob)] } }), { catalog: strict, now: NOW, trigger: "test" });
      if (bare.kind !== "invalid") throw new Error(`expected invalid, got ${bare.kind}`);
      expect(bare.problems).toEqual([
        expect.objectContaining({ line: 3, message: expect.stringContaining("may only be granted into a protected environment") }),
      ]);
      const guarded = facts({ approval: { reviews: [approve(bob)], environments: [environment("production", ["required_reviewers"])] } });
      expect(decidePullRequest(guarded, { catalog: strict, now: NOW, trigger: "test" }).kind).toBe("approved");
    });

    it("counts only the catalog's approvers among the code owners, per secret", () => {
      const narrowed = withSecret("PROD_DB_URL", { approvers: [{ kind: "user", login: "carol" }] });
      const ctx = { catalog: narrowed, now: NOW, trigger: "test" };
      expect(decidePullRequest(facts({ approval: { reviews: [approve(bob)] } }), ctx).kind).toBe("waiting");
      const both = REQUEST + TWO_APPROVALS.replace("requests:\n", "");
      const decision = decidePullRequest(facts({ head: both, approval: { reviews: [approve(bob), approve(carol)] } }), ctx);
      if (decision.kind !== "approved") throw new Error(`expected approved, got ${decision.kind}`);
      expect(decision.grant.items.map((i) => [i.request.secret.name, i.approvers.map((a) => a.login)])).toEqual([
        ["PROD_DB_URL", ["carol"]],
        ["PAYMENTS_KEY", ["bob", "carol"]],
      ]);
    });
  });

  describe("a withdrawn approval ends the access it gave", () => {
    const live = (approvers: { id: number; login: string }[], headSha = HEAD): Grant => liveRow({ approvers, headSha });

    it("ends the PR's live grant when its only counted approval is dismissed, saying why", () => {
      const decision = decide(facts({ approval: { reviews: [approve(bob), approve(bob, HEAD, "DISMISSED")], liveGrants: [live([bob])] } }));
      expect(decision.end).toEqual([
        {
          grant: expect.objectContaining({ id: "grant-1" }),
          reason: "the approval by @bob was dismissed, and 0 of the 1 required approval remain",
        },
      ]);
    });

    it("keeps it when another valid approval of the grant's head still meets the threshold", () => {
      const reviews = [approve(bob), approve(carol), approve(bob, HEAD, "DISMISSED")];
      expect(decide(facts({ approval: { reviews, liveGrants: [live([bob])] } })).end).toEqual([]);
    });

    it("judges the grant by the head it was approved on, not by a newer push", () => {
      // Bob approved OLD and the grant was written; the author pushed since. Dismissing Bob's review ends it.
      const reviews = [approve(bob, OLD), approve(bob, OLD, "DISMISSED")];
      expect(decide(facts({ approval: { reviews, liveGrants: [live([bob], OLD)] } })).end).toHaveLength(1);
      expect(decide(facts({ approval: { reviews: [approve(bob, OLD)], liveGrants: [live([bob], OLD)] } })).end).toEqual([]);
    });

    it("does not end a grant over a review that requested changes or was never counted", () => {
      const reviews = [approve(bob), approve(carol, HEAD, "DISMISSED")];
      expect(decide(facts({ approval: { reviews, liveGrants: [live([bob])] } })).end).toEqual([]);
    });

    it("ends it even when the head no longer changes the requests file (the requester reverted it after the grant)", () => {
      const reviews = [approve(bob, OLD), approve(bob, OLD, "DISMISSED")];
      const decision = decide(
        facts({ head: "requests: []\n", base: "requests: []\n", approval: { reviews, liveGrants: [live([bob], OLD)] } }),
      );
      expect(decision.kind).toBe("untouched");
      expect(decision.end).toEqual([
        {
          grant: expect.objectContaining({ id: "grant-1" }),
          reason: "the approval by @bob was dismissed, and 0 of the 1 required approval remain",
        },
      ]);
    });

    it("ends it on the dismissal alone when the repository config cannot be read (the approvals that remain cannot be counted)", () => {
      // Carol's approval would meet the catalog's threshold, but the config may raise it or move the requests file.
      const reviews = [approve(bob), approve(carol), approve(bob, HEAD, "DISMISSED")];
      const policy = { ok: false as const, message: "bad config" };
      const decision = decide(facts({ policy, approval: { reviews, liveGrants: [live([bob, carol])] } }));
      expect(decision.kind).toBe("policy-error");
      expect(decision.end).toEqual([
        {
          grant: expect.objectContaining({ id: "grant-1" }),
          reason: "the approval by @bob was dismissed, and the repository config cannot be read to count the approvals that remain",
        },
      ]);
      // Without a dismissal, an unreadable config ends nothing.
      expect(decide(facts({ policy, approval: { reviews: [approve(bob)], liveGrants: [live([bob])] } })).end).toEqual([]);
    });
  });

  it("records the same digest for the same request set in any order", () => {
    const a = REQUEST + TWO_APPROVALS.replace("requests:\n", "");
    const b = TWO_APPROVALS + REQUEST.replace("requests:\n", "");
    const reviews = [approve(bob), approve(carol)];
    const [x, y] = [decide(facts({ head: a, approval: { reviews } })), decide(facts({ head: b, approval: { reviews } }))];
    if (x.kind !== "approved" || y.kind !== "approved") throw new Error("expected both approved");
    expect(x.grant.requestDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(x.grant.requestDigest).toBe(y.grant.requestDigest);
    const z = decide(facts({ head: REQUEST, approval: { reviews } }));
    expect(z.kind === "approved" && z.grant.requestDigest).not.toBe(x.grant.requestDigest);
  });

  it("rejects with every problem at its line, a failing check and a rejected audit record", () => {
    const decision = decide(facts({ head: REQUEST.replace("production", "prod").replace("2h", "9h") }));
    if (decision.kind !== "invalid") throw new Error(`expected invalid, got ${decision.kind}`);
    expect(decision.problems.map((p) => p.line)).toEqual([3, 3, 4]); // "prod": not allowed for the secret, and not an environment here
    expect(decision.check).toMatchObject({ conclusion: "failure", headSha: HEAD });
    expect(decision.audit).toMatchObject({
      action: "rejected",
      actor: "alice",
      owner: "acme",
      repo: "api",
      prNumber: 7,
      at: new Date(NOW),
    });
  });

  it("grants exactly the entries the head adds, with the approvers' ids and permissions and an approved audit record", () => {
    const both = REQUEST + TWO_APPROVALS.replace("requests:\n", "");
    const reviewerPermissions = new Map([bob, carol, dave, alice].map((p) => [p.id, p === carol ? "admin" : "write"] as const));
    const decision = decide(
      facts({ head: both, base: REQUEST, approval: { reviews: [approve(bob), approve(carol)], reviewerPermissions } }),
    );
    if (decision.kind !== "approved") throw new Error(`expected approved, got ${decision.kind}`);
    expect(decision.grant.items.map((i) => i.request.secret.name)).toEqual(["PAYMENTS_KEY"]);
    // Each approver as the grant records them: id, login, the permission read now, the CODEOWNERS entry.
    const approvers = [
      { ...bob, permission: "write", via: "@bob" },
      { ...carol, permission: "admin", via: "@carol" },
    ];
    expect(decision.grant.items[0]?.approvers).toEqual(approvers);
    expect(decision.audit).toMatchObject({ action: "approved", details: { headSha: HEAD, mergeBaseSha: MERGE_BASE, approvers } });
  });

  it("waits with a check that names who can still approve", () => {
    const decision = decide(facts({}));
    if (decision.kind !== "waiting") throw new Error(`expected waiting, got ${decision.kind}`);
    expect(decision.check.status).toBe("in_progress");
    expect(decision.check.summary).toContain("@bob");
    expect(decision.audit).toMatchObject({ action: "validated", details: { approvals: "0/1" } });
  });

  it("gives the same decision for the same facts", () => {
    const f = facts({ approval: { reviews: [approve(bob)] } });
    expect(decide(f)).toEqual(decide(f));
  });
});

describe("decidePullRequest, revoke-only (the catalog failed to load)", () => {
  const NO_CATALOG = { file: "(no catalog loaded)", secrets: new Map() };
  const revokeOnly = (f: PullRequestFacts): Decision =>
    decidePullRequest(f, { catalog: NO_CATALOG, now: NOW, trigger: "test", revokeOnly: true });
  const live = liveRow({ headSha: HEAD });

  const cases: { name: string; facts: PullRequestFacts; kind: Decision["kind"] }[] = [
    { name: "an approved request", facts: facts({ approval: { reviews: [approve(bob)] } }), kind: "refused" },
    { name: "a request waiting for approval", facts: facts({}), kind: "refused" },
    { name: "a request with problems", facts: facts({ head: "requests: [\n" }), kind: "refused" },
    { name: "a closed PR", facts: facts({ state: "closed" }), kind: "closed" },
    { name: "a requests file the PR does not change", facts: facts({ head: REQUEST, base: REQUEST }), kind: "untouched" },
    { name: "an unreadable repository config", facts: facts({ policy: { ok: false, message: "bad config" } }), kind: "policy-error" },
  ];
  it.each(cases)("$name: $kind", ({ facts: f, kind }) => {
    const decision = revokeOnly(f);
    expect(decision.kind).toBe(kind);
    if (decision.kind === "refused") {
      expect(decision.check).toMatchObject({
        headSha: HEAD,
        status: "completed",
        conclusion: "failure",
        title: "Nothing can be granted: the operator catalog is invalid",
      });
      // Nothing from the request (reason, secret, environment) is repeated.
      expect(JSON.stringify(decision.check)).not.toMatch(/INC-4211|PROD_DB_URL|production/);
    }
  });

  it("still ends a live grant whose only approval was dismissed (the grant's own approvers stand in for the catalog's count)", () => {
    const decision = revokeOnly(facts({ approval: { reviews: [approve(bob), approve(bob, HEAD, "DISMISSED")], liveGrants: [live] } }));
    expect(decision.kind).toBe("refused");
    expect(decision.end).toEqual([
      {
        grant: expect.objectContaining({ id: "grant-1" }),
        reason: "the approval by @bob was dismissed, and 0 of the 1 required approval remain",
      },
    ]);
  });

  it("leaves a live grant whose approval stands", () => {
    expect(revokeOnly(facts({ approval: { reviews: [approve(bob)], liveGrants: [live] } })).end).toEqual([]);
  });
});

/** A live grant row on a head, as the ledger hands it out: bob's approval over MERGE_BASE. */
function liveRow(over: Partial<Grant>): Grant {
  return activeGrant({
    approvers: [bob],
    repositoryId: 100_001,
    mergeBaseSha: MERGE_BASE,
    requestDigest: "0".repeat(64),
    grantedAt: new Date(NOW),
    ...over,
  });
}

function grantRow(over: { headSha: string }): Grant {
  return liveRow({ id: "grant-row", ...over });
}

describe("decidePullRequest: requests lapse after request_ttl", () => {
  const HOUR = 3_600_000;
  const key = { owner: "acme", repo: "api", prNumber: 7, headSha: HEAD };
  const head = (firstEvaluatedMsAgo: number, over: { lapsedAt?: Date; approvedAt?: Date; ttlMs?: number } = {}) => {
    const ttlMs = over.ttlMs ?? 24 * HOUR;
    const first = NOW - firstEvaluatedMsAgo;
    return {
      ...key,
      installationId: 42,
      firstEvaluatedAt: new Date(first),
      lapsesAt: new Date(first + ttlMs),
      ttlMs,
      lapsedAt: over.lapsedAt ?? null,
      approvedAt: over.approvedAt ?? null,
    };
  };
  const approved = [approve(bob)];
  const cases: { name: string; approval: Partial<ApprovalFacts>; kind: Decision["kind"] }[] = [
    { name: "first evaluation, not approved: waits, and starts the clock", approval: { requestHead: null }, kind: "waiting" },
    { name: "within the ttl, not approved", approval: { requestHead: head(23 * HOUR) }, kind: "waiting" },
    { name: "within the ttl, approved", approval: { requestHead: head(23 * HOUR), reviews: approved }, kind: "approved" },
    { name: "the ttl is over, not approved", approval: { requestHead: head(24 * HOUR) }, kind: "lapsed" },
    { name: "the ttl is over, a late approval", approval: { requestHead: head(25 * HOUR), reviews: approved }, kind: "lapsed" },
    {
      name: "recorded lapsed, then approved within what would be the ttl",
      approval: { requestHead: head(HOUR, { lapsedAt: new Date(NOW - 1) }), reviews: approved },
      kind: "lapsed",
    },
    {
      name: "approved in time, evaluated again after the ttl (a redelivery)",
      approval: { requestHead: head(30 * HOUR, { approvedAt: new Date(NOW - 29 * HOUR) }), reviews: approved },
      kind: "approved",
    },
    {
      name: "a live grant on the head (granted before the clock was recorded)",
      approval: { requestHead: head(30 * HOUR), reviews: approved, liveGrants: [grantRow({ headSha: HEAD })] },
      kind: "approved",
    },
    { name: "the ledger was not asked (no clock)", approval: {}, kind: "waiting" },
  ];
  it.each(cases)("$name → $kind", ({ approval, kind }) => {
    expect(decide(facts({ approval })).kind).toBe(kind);
  });

  it("a lapsed head fails the check with the ttl, audits once, and plans no grant", () => {
    const decision = decide(facts({ approval: { requestHead: head(25 * HOUR), reviews: approved } }));
    if (decision.kind !== "lapsed") throw new Error(decision.kind);
    expect(decision.check).toMatchObject({
      conclusion: "failure",
      title: "Request lapsed",
      summary: "This request lapsed unapproved after 1d; push a new commit to ask again",
    });
    expect(decision.audit).toMatchObject({ action: "lapsed", actor: "jit-access", details: { requestTtl: "1d" } });
    expect(decision.head).toEqual(key);
    expect(decision.requests.map((r) => r.secret.name)).toEqual(["PROD_DB_URL"]);
  });

  it("the clock takes the shortest request_ttl among the requests, 24h by default", () => {
    const short = parseCatalog(
      `secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/api"]
    environments: [production]
    max_duration: 4h
    request_ttl: 2h
`,
      "catalog.yml",
    );
    const waiting = decidePullRequest(facts({ approval: { requestHead: null } }), { catalog: short, now: NOW, trigger: "test" });
    expect(waiting).toMatchObject({ kind: "waiting", lapse: { head: key, ttlMs: 2 * HOUR, record: true } });
    expect(decide(facts({ approval: { requestHead: null } }))).toMatchObject({ lapse: { ttlMs: 24 * HOUR, record: true } });
  });
});

describe("decidePullRequest: break-glass", () => {
  const glassCatalog = parseCatalog(
    `secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/api"]
    environments: [production]
    max_duration: 4h
    break_glass: {max_duration: 1h}
  PAYMENTS_KEY:
    source: env:PAYMENTS_KEY
    repositories: ["acme/api"]
    environments: [production]
    max_duration: 1h
`,
    "catalog.yml",
  );
  const entry = (secret: string, duration: string, glass: string | null = "true") =>
    `  - secret: ${secret}\n    environment: production\n    duration: ${duration}\n    reason: "INC-9: the database is down"\n` +
    (glass === null ? "" : `    break_glass: ${glass}\n`);
  const file = (...entries: string[]) => `requests:\n${entries.join("")}`;
  const decideGlass = (f: PullRequestFacts) => decidePullRequest(f, { catalog: glassCatalog, now: NOW, trigger: "test" });
  const problems = (d: Decision) => (d.kind === "invalid" ? d.problems.map((p) => `${p.line}: ${p.message}`) : []);

  const cases: { name: string; facts: PullRequestFacts; kind: Decision["kind"]; breakGlass?: string; problem?: string }[] = [
    {
      name: "allowed, no approval: granted at once",
      facts: facts({ head: file(entry("PROD_DB_URL", "30m")) }),
      kind: "approved",
      breakGlass: "granted",
    },
    {
      name: "allowed, a code owner approved afterwards: reviewed",
      facts: facts({ head: file(entry("PROD_DB_URL", "30m")), approval: { reviews: [approve(bob)] } }),
      kind: "approved",
      breakGlass: "reviewed",
    },
    {
      name: "break_glass: false is an ordinary request",
      facts: facts({ head: file(entry("PROD_DB_URL", "30m", "false")) }),
      kind: "waiting",
    },
    {
      name: "the catalog does not allow it",
      facts: facts({ head: file(entry("PAYMENTS_KEY", "30m")) }),
      kind: "invalid",
      problem: "6: PAYMENTS_KEY does not allow break-glass (the catalog sets no break_glass for it)",
    },
    {
      name: "longer than break_glass.max_duration",
      facts: facts({ head: file(entry("PROD_DB_URL", "2h")) }),
      kind: "invalid",
      problem: "4: duration 2h is over the break-glass limit of 1h for PROD_DB_URL; ask for 1h or less",
    },
    {
      name: "mixed with an ordinary entry",
      facts: facts({ head: file(entry("PROD_DB_URL", "30m"), entry("PAYMENTS_KEY", "30m", null)) }),
      kind: "invalid",
      problem: "6: a break-glass request must be on its own",
    },
    {
      name: "an author without write permission",
      facts: facts({ head: file(entry("PROD_DB_URL", "30m")), approval: { authorPermission: "read" } }),
      kind: "invalid",
      problem: "1: ",
    },
    {
      name: "break_glass: yes (text, not true)",
      facts: facts({ head: file(entry("PROD_DB_URL", "30m", '"yes"')) }),
      kind: "invalid",
      problem: "6: break_glass must be true or false",
    },
  ];
  it.each(cases)("$name → $kind", ({ facts: f, kind, breakGlass, problem }) => {
    const decision = decideGlass(f);
    expect(decision.kind).toBe(kind);
    if (breakGlass !== undefined) expect(decision).toMatchObject({ breakGlass: { kind: breakGlass } });
    if (problem !== undefined) expect(problems(decision).join("\n")).toContain(problem);
  });

  it("a repository that sets break_glass: false refuses it at the entry's line", () => {
    const f = facts({ head: file(entry("PROD_DB_URL", "30m")) });
    f.files!.policy = { ok: true, repoConfig: { requestsFile: "jit-requests.yml", breakGlass: false } };
    expect(problems(decideGlass(f))).toEqual([
      "6: this repository forbids break-glass (.github/jit-access.yml sets break_glass: false); remove break_glass: true and have the request approved",
    ]);
  });

  it("grants without approvers, mentions every code owner, and audits break_glass by the requester", () => {
    const decision = decideGlass(facts({ head: file(entry("PROD_DB_URL", "30m")) }));
    if (decision.kind !== "approved") throw new Error(decision.kind);
    expect(decision.grant.items.map((i) => [i.request.secret.name, i.request.breakGlass, i.approvers])).toEqual([
      ["PROD_DB_URL", true, []],
    ]);
    expect(decision.breakGlass).toEqual({ kind: "granted", mention: ["@bob", "@carol", "@acme/dba"] });
    expect(decision.audit).toMatchObject({ action: "break_glass", actor: "alice" });
  });

  it("the later approval names its reviewer", () => {
    const decision = decideGlass(facts({ head: file(entry("PROD_DB_URL", "30m")), approval: { reviews: [approve(carol)] } }));
    expect(decision).toMatchObject({ kind: "approved", breakGlass: { kind: "reviewed", reviewer: carol }, audit: { action: "approved" } });
  });
});
