import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { decideGate, needsRepoBinding, type GateFacts, type GateRun } from "../../src/gate/decide-gate.js";
import { gateComment, MAX_COMMENT_LENGTH } from "../../src/gate/gate-comment.js";
import { MAX_GATE_COMMENT_LENGTH } from "../../src/ledger/gate-decisions.js";
import type { Grant } from "../../src/ledger/store.js";
import { activeGrant } from "../helpers/grant-fixture.js";
import { parseCatalog } from "../../src/policy/load-catalog.js";
import { outsideCode, RENDERERS, tagNames } from "../hostile/helpers/render-markdown.js";

/** Markdown that renders to paragraphs, bold and code only, with nothing that could mention or link outside code. */
function expectInert(markdown: string): void {
  for (const [, render] of RENDERERS) {
    const html = render(markdown);
    expect(tagNames(html).filter((tag) => !["p", "/p", "strong", "/strong", "code", "/code"].includes(tag))).toEqual([]);
    expect(outsideCode(html)).not.toMatch(/[@#]|https?:|javascript:/u);
  }
}

/** The decision is pure: each case is facts in, verdict out, with no GitHub and no ledger. */
const catalog = parseCatalog(
  `secrets:
  DEPLOY_KEY:
    source: env:DEPLOY_KEY
    repositories: ["acme/api"]
    environments: [production-jit]
    max_duration: 4h
    bind_to_requester: true
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/api"]
    environments: [production-jit]
    max_duration: 4h
`,
  "catalog.yml",
);

const T = (minutes: number): Date => new Date(Date.parse("2026-06-01T12:00:00Z") + minutes * 60_000);
const NOW = T(30).getTime();
const alice = { id: 101, login: "alice" };
const mallory = { id: 666, login: "mallory" };
const bob = { id: 202, login: "bob" };

let sequence = 0;
function grant(over: Partial<Grant> = {}): Grant {
  sequence += 1;
  return activeGrant({
    id: `grant-${sequence}`,
    repositoryId: 100_001,
    environment: "production-jit",
    secret: "DEPLOY_KEY",
    requester: alice,
    approvers: [bob],
    reason: "INC-1: deploy the fix",
    requestKey: `key-${sequence}`,
    createdAt: T(0),
    grantedAt: T(1),
    expiresAt: T(121),
    ...over,
  });
}

function run(over: Partial<GateRun> = {}): GateRun {
  return { id: 30_433_001, attempt: 1, actor: alice, triggeringActor: alice, startedAt: T(20), ...over };
}

function facts(over: Partial<GateFacts> = {}): GateFacts {
  return { environment: "production-jit", run: run(), grants: [grant()], ...over };
}

interface Case {
  name: string;
  facts: GateFacts;
  state: "approved" | "rejected";
  reason: string;
  /** Words the comment must hold. */
  says: string[];
}

const cases: Case[] = [
  {
    name: "the requester's own run, started while the grant is live",
    facts: facts(),
    state: "approved",
    reason: "requester",
    says: ["Approved by jit-access", "`@alice`", "`DEPLOY_KEY`", "`production-jit`", "2026-06-01 14:01:00 UTC"],
  },
  {
    name: "another user's run",
    facts: facts({ run: run({ actor: mallory, triggeringActor: mallory }) }),
    state: "rejected",
    reason: "not-requester",
    says: ["no live jit-access grant bound to `@mallory` in `production-jit`", "adding an entry to jit-requests.yml"],
  },
  {
    name: "the requester's run re-run by another user",
    facts: facts({ run: run({ attempt: 2, triggeringActor: mallory }) }),
    state: "rejected",
    reason: "rerun-by-other",
    says: ["this run was re-run by `@mallory`", "only `@alice`'s own runs may use `@alice`'s grant"],
  },
  {
    name: "another user's run re-run by the requester: the run is still not the requester's",
    facts: facts({ run: run({ attempt: 2, actor: mallory, triggeringActor: alice }) }),
    state: "rejected",
    reason: "not-requester",
    says: ["`@mallory`"],
  },
  {
    name: "no live grant in the environment",
    facts: facts({ grants: [] }),
    state: "rejected",
    reason: "no-grant",
    says: ["no live jit-access grant for `@alice` in `production-jit`: request one by adding an entry to jit-requests.yml"],
  },
  {
    name: "an expired grant the sweep has not ended yet",
    facts: facts({ grants: [grant({ expiresAt: T(25) })] }),
    state: "rejected",
    reason: "grant-expired",
    says: ["`@alice`'s jit-access grant in `production-jit` expired at 2026-06-01 12:25:00 UTC (5m ago)"],
  },
  {
    name: "a run started before the grant was written",
    facts: facts({ run: run({ startedAt: T(0.5) }) }),
    state: "rejected",
    reason: "started-before-grant",
    says: ["before `@alice`'s grant", "re-run it"],
  },
  {
    name: "a grant still being written",
    facts: facts({ grants: [grant({ state: "granting", grantedAt: null })] }),
    state: "rejected",
    reason: "grant-not-written",
    says: ["still being written"],
  },
  {
    name: "only a grant whose secret the catalog does not bind",
    facts: facts({ grants: [grant({ secret: "PROD_DB_URL" })], repoBinding: { ok: true, bindToRequester: false } }),
    state: "rejected",
    reason: "not-bound",
    says: ["no grant in `production-jit` is bound to its requester", "bind_to_requester: true"],
  },
  {
    name: "a grant the repository config binds",
    facts: facts({ grants: [grant({ secret: "PROD_DB_URL" })], repoBinding: { ok: true, bindToRequester: true } }),
    state: "approved",
    reason: "requester",
    says: ["`PROD_DB_URL`"],
  },
  {
    name: "a repository config that cannot be read binds nothing",
    facts: facts({ grants: [grant({ secret: "PROD_DB_URL" })], repoBinding: { ok: false, message: "bad" } }),
    state: "rejected",
    reason: "repo-config-invalid",
    says: ["`.github/jit-access.yml` on the default branch cannot be read"],
  },
  {
    name: "a catalog-bound grant needs no repository config, readable or not",
    facts: facts({ grants: [grant(), grant({ secret: "PROD_DB_URL", requester: bob })], repoBinding: { ok: false, message: "bad" } }),
    state: "approved",
    reason: "requester",
    says: ["`DEPLOY_KEY`"],
  },
  {
    name: "a grant of a secret no longer in the catalog is not bound by it",
    facts: facts({ grants: [grant({ secret: "RETIRED_KEY" })], repoBinding: { ok: true, bindToRequester: false } }),
    state: "rejected",
    reason: "not-bound",
    says: ["bind_to_requester"],
  },
  {
    name: "users are compared by id, not by login",
    facts: facts({ run: run({ actor: { id: 999, login: "alice" }, triggeringActor: { id: 999, login: "alice" } }) }),
    state: "rejected",
    reason: "not-requester",
    says: ["`@alice`"],
  },
  {
    name: "GitHub does not say who re-ran the run",
    facts: facts({ run: run({ triggeringActor: null }) }),
    state: "rejected",
    reason: "unknown-actor",
    says: ["did not say who started this run"],
  },
  {
    name: "two grants: an expired one and a live one",
    facts: facts({ grants: [grant({ expiresAt: T(25) }), grant({ secret: "deploy_key", grantedAt: T(2), expiresAt: T(60) })] }),
    state: "approved",
    reason: "requester",
    says: ["`DEPLOY_KEY`", "13:00:00 UTC"],
  },
  {
    name: "someone else's bound grant does not serve the requester of an unbound one",
    facts: facts({
      grants: [grant({ requester: bob }), grant({ secret: "PROD_DB_URL" })],
      repoBinding: { ok: true, bindToRequester: false },
    }),
    state: "rejected",
    reason: "not-requester",
    says: ["`@alice`"],
  },
];

describe("decideGate", () => {
  it.each(cases)("$name: $state ($reason)", ({ facts: given, state, reason, says }) => {
    const verdict = decideGate(given, { catalog, now: NOW });
    expect({ state: verdict.state, reason: verdict.reason }).toEqual({ state, reason });
    for (const words of says) expect(verdict.comment).toContain(words);
    if (state === "approved") expect(given.grants).toContain(verdict.grant);
    else expect(verdict.grant).toBeNull();
  });

  it("approves with the grant that lasts longest, and names every usable secret once", () => {
    const short = grant({ expiresAt: T(40) });
    const long = grant({ secret: "PROD_DB_URL", expiresAt: T(200) });
    const verdict = decideGate(facts({ grants: [short, long], repoBinding: { ok: true, bindToRequester: true } }), { catalog, now: NOW });
    expect(verdict.grant).toBe(long);
    expect(verdict.comment).toContain("`DEPLOY_KEY`, `PROD_DB_URL`");
  });

  it("reads the repository config only when a live grant's secret is not bound by the catalog", () => {
    expect(needsRepoBinding([], catalog)).toBe(false);
    expect(needsRepoBinding([grant()], catalog)).toBe(false);
    expect(needsRepoBinding([grant(), grant({ secret: "PROD_DB_URL" })], catalog)).toBe(true);
  });
});

describe("the gate's comment", () => {
  it("is GitHub's size at most, and the ledger refuses no less", () => {
    expect(MAX_COMMENT_LENGTH).toBe(1024);
    expect(MAX_GATE_COMMENT_LENGTH).toBe(MAX_COMMENT_LENGTH);
  });

  it("renders logins, environment and secret names inert", () => {
    const environment = "prod<script>alert(1)</script> [x](javascript:alert(1)) @acme/admins #1";
    const verdict = decideGate(facts({ environment, run: run({ actor: mallory, triggeringActor: mallory }) }), { catalog, now: NOW });
    expectInert(verdict.comment);
    expect(verdict.comment).toContain("`@mallory`");
  });

  it("stays within 1,024 characters and inert, whatever the names", () => {
    const name = fc.string({ unit: "grapheme", minLength: 1, maxLength: 300 });
    fc.assert(
      fc.property(name, name, fc.array(name, { maxLength: 12 }), (environment, login, secrets) => {
        const who = { login };
        const comments = [
          gateComment({ reason: "requester", actor: who, environment, secrets, expiresAt: T(60), now: NOW }),
          gateComment({ reason: "rerun-by-other", actor: who, triggeringActor: who, attempt: 3, environment }),
          gateComment({ reason: "started-before-grant", actor: who, environment, startedAt: T(1), grantedAt: T(2), now: NOW }),
          gateComment({ reason: "not-requester", actor: who, environment }),
        ];
        for (const comment of comments) {
          expect([...comment].length).toBeLessThanOrEqual(1024);
          expectInert(comment);
        }
      }),
      { numRuns: 150 },
    );
  });
});
