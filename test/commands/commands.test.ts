import { describe, expect, it } from "@jest/globals";
import { extendReply, mention, reminderComment, revokeReply } from "../../src/commands/command-replies.js";
import { decideExtension } from "../../src/commands/decide-extension.js";
import { MAX_COMMAND_REASON, parseCommand } from "../../src/commands/parse-command.js";
import { reminderLeadMs } from "../../src/commands/reminders.js";
import type { Grant } from "../../src/ledger/store.js";
import { activeGrant } from "../helpers/grant-fixture.js";
import type { CatalogSecret } from "../../src/policy/catalog.js";

const MINUTE = 60_000;
const T0 = Date.parse("2026-03-01T10:00:00Z");

function grant(overrides: Partial<Grant> = {}): Grant {
  return activeGrant({
    id: "g1",
    requester: { id: 7, login: "alice" },
    prNumber: 3,
    approvers: [{ id: 8, login: "bob" }],
    reason: "INC-1",
    durationMs: 60 * MINUTE,
    requestKey: "k",
    createdAt: new Date(T0),
    grantedAt: new Date(T0),
    expiresAt: new Date(T0 + 60 * MINUTE),
    ...overrides,
  });
}

function secret(overrides: Partial<CatalogSecret> = {}): CatalogSecret {
  return {
    name: "PROD_DB_URL",
    source: { kind: "env", variable: "PROD_DB_URL" },
    repositories: ["acme/api"],
    environments: ["production"],
    maxDurationMs: 120 * MINUTE,
    approvals: 1,
    approvers: null,
    requireProtectedEnvironment: false,
    bindToRequester: false,
    extension: { maxMs: 30 * MINUTE, times: 2 },
    ...overrides,
  };
}

describe("parseCommand", () => {
  it.each([
    ["/jit status", { kind: "status" }],
    ["  /JIT   STATUS  \nmore text", { kind: "status" }],
    ["/jit revoke", { kind: "revoke", reason: null }],
    ["/jit Revoke done, thanks", { kind: "revoke", reason: "done, thanks" }],
    [
      "/jit extend 30m slow migration",
      { kind: "extend", durationText: "30m", reason: "slow migration", duration: { ok: true, ms: 30 * MINUTE } },
    ],
    ["/jit", { kind: "unknown", word: "" }],
    ["/jit grant me", { kind: "unknown", word: "grant" }],
  ])("reads %j", (body, expected) => {
    expect(parseCommand(body)).toMatchObject(expected);
  });

  it.each(["please /jit status", "/jitstatus", "> /jit revoke", "", "text\n/jit revoke"])(
    "ignores %j (not a command on the first line)",
    (body) => {
      expect(parseCommand(body)).toBeNull();
    },
  );

  it("keeps an extend without a valid duration as such, and cuts long reasons", () => {
    expect(parseCommand("/jit extend soon")).toMatchObject({ kind: "extend", duration: { ok: false } });
    expect(parseCommand("/jit extend")).toMatchObject({ kind: "extend", durationText: "", duration: { ok: false } });
    const long = parseCommand(`/jit revoke ${"x".repeat(500)}`);
    expect(long).toMatchObject({ kind: "revoke" });
    expect((long as { reason: string }).reason).toHaveLength(MAX_COMMAND_REASON);
  });
});

describe("decideExtension", () => {
  const base = { grant: grant(), extensions: 0, secret: secret(), byMs: 30 * MINUTE, askedBy: 7, now: T0 + 50 * MINUTE };

  it("moves the expiry by the duration asked for, within policy", () => {
    expect(decideExtension(base)).toEqual({ ok: true, expiresAt: new Date(T0 + 90 * MINUTE), times: 2 });
  });

  it.each([
    ["someone else asks", { askedBy: 8 }, "only the requester, @alice, may extend a grant"],
    ["the grant expired", { now: T0 + 60 * MINUTE }, "the grant is not live"],
    ["the grant is not written yet", { grant: grant({ state: "granting" }) }, "the grant is not live"],
    [
      "no extension in the catalog",
      { secret: secret({ extension: undefined as never }) },
      "the catalog does not allow extending this secret",
    ],
    ["the secret left the catalog", { secret: undefined }, "the catalog does not allow extending this secret"],
    ["over max", { byMs: 31 * MINUTE }, "the catalog allows at most 30m per extension"],
    ["extended as often as allowed", { extensions: 2 }, "the grant was extended 2 times, the most the catalog allows"],
    [
      "past max_duration from the first write",
      { grant: grant({ expiresAt: new Date(T0 + 100 * MINUTE) }) },
      "at most 20m more fits within the catalog's max_duration of 2h from the first write",
    ],
    [
      "already at max_duration",
      { grant: grant({ expiresAt: new Date(T0 + 120 * MINUTE) }) },
      "the grant already ends at the catalog's max_duration of 2h from the first write",
    ],
  ])("refuses when %s", (_what, overrides, why) => {
    expect(decideExtension({ ...base, ...overrides })).toEqual({ ok: false, why });
  });

  it("counts max_duration from the first write, which an earlier uncertain write moved back", () => {
    const earlier = grant({ grantedAt: new Date(T0 - 10 * MINUTE), expiresAt: new Date(T0 + 50 * MINUTE) });
    expect(decideExtension({ ...base, grant: earlier, now: T0 + 40 * MINUTE })).toMatchObject({ ok: true });
    expect(decideExtension({ ...base, grant: grant({ grantedAt: new Date(T0 - 31 * MINUTE) }) })).toMatchObject({ ok: false });
  });
});

describe("the reminder", () => {
  it("comes notify_before ahead, else 10 minutes, else half of a grant under 20 minutes", () => {
    expect(reminderLeadMs(secret({ notifyBeforeMs: 15 * MINUTE }), { durationMs: 10 * MINUTE })).toBe(15 * MINUTE);
    expect(reminderLeadMs(secret(), { durationMs: 60 * MINUTE })).toBe(10 * MINUTE);
    expect(reminderLeadMs(undefined, { durationMs: 20 * MINUTE })).toBe(10 * MINUTE);
    expect(reminderLeadMs(undefined, { durationMs: 19 * MINUTE })).toBe(9.5 * MINUTE);
  });

  it("mentions the requester and gives the exact /jit extend command the policy leaves room for", () => {
    const text = reminderComment(grant(), secret(), 0, T0 + 50 * MINUTE);
    expect(text).toMatch(
      /^@alice \*\*Access ends soon:\*\* `PROD_DB_URL` in environment `production` expires 2026-03-01 11:00:00 UTC \(in 10m\)\./u,
    );
    expect(text).toContain("```\n/jit extend 30m\n```");
    // 20 minutes left under max_duration: the command offers those.
    expect(reminderComment(grant({ expiresAt: new Date(T0 + 100 * MINUTE) }), secret(), 0, T0)).toContain("/jit extend 20m");
    expect(reminderComment(grant(), secret(), 2, T0)).toContain("The catalog does not allow extending it further.");
    expect(reminderComment(grant(), secret({ extension: undefined as never }), 0, T0)).not.toContain("/jit extend");
  });
});

describe("replies render outside text inert", () => {
  it("a login that is not a GitHub login is never a mention", () => {
    expect(mention("alice")).toBe("@alice");
    expect(mention("evil @everyone <img>")).toBe("`@evil @everyone <img>`");
  });

  it("names and reasons are code spans, so @mentions, links and HTML in them do nothing", () => {
    const hostile = grant({ secret: "X", environment: "prod|@acme/admins <b>" });
    const text = extendReply([{ grant: hostile, why: "[click](https://evil.example) @acme/all" }], "30m", T0);
    expect(text).toContain("`prod`\\|`@acme/admins <b>`");
    expect(text).toContain("`[click](https://evil.example) @acme/all`");
    expect(revokeReply([{ grant: hostile, ended: true }])).toContain("`@acme/admins <b>`");
  });
});
