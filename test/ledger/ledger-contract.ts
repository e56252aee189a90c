import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { auditHash, GENESIS_HASH } from "../../src/ledger/audit-chain.js";
import { IllegalTransitionError } from "../../src/ledger/grant-states.js";
import type {
  AuditArchivePlan,
  AuditInput,
  GateDecision,
  Grant,
  GrantState,
  LedgerStore,
  NewGateDecision,
  NewGrant,
} from "../../src/ledger/store.js";

/**
 * Everything a ledger store must do, whatever its database: `ledgerContract(name, factory)`
 * runs the whole suite against stores that `factory` opens (a fresh, empty ledger each time).
 * The SQLite store runs it in `sqlite-store.test.ts`; a PostgreSQL store runs the same suite.
 * What only one store has (files, pragmas, migrations, triggers) is tested next to that store.
 */
export type LedgerFactory = () => Promise<LedgerStore>;

export const T0 = new Date("2030-01-01T10:00:00.000Z");
export const at = (minutes: number): Date => new Date(T0.getTime() + minutes * 60_000);

let sequence = 0;
export function newGrant(overrides: Partial<NewGrant> = {}): NewGrant {
  sequence += 1;
  return {
    installationId: 4242,
    owner: "acme",
    repo: "api",
    environment: "production",
    secret: "PROD_DB_URL",
    requester: { id: 7, login: "requester" },
    prNumber: 12,
    headSha: "a".repeat(40),
    approvers: [
      { id: 8, login: "owner-one" },
      { id: 9, login: "owner-two" },
    ],
    reason: "INC-4211: inspect stuck migrations",
    durationMs: 7_200_000,
    requestKey: `acme/api#12@${"a".repeat(40)}:production:PROD_DB_URL:${sequence}`,
    createdAt: T0,
    expiresAt: at(120),
    ...overrides,
  };
}

/** An audit record about grant changes, as the lifecycle writes them. */
export function auditOf(action: AuditInput["action"], overrides: Partial<AuditInput> = {}): AuditInput {
  return {
    at: at(1),
    action,
    actor: "jit-access",
    owner: "acme",
    repo: "api",
    prNumber: 12,
    environment: "production",
    secret: "PROD_DB_URL",
    details: { step: action },
    ...overrides,
  };
}

let runSequence = 0;
/** A gate decision on a fresh run (a new run id each call), rejected unless a grant is given. */
export function newGateDecision(overrides: Partial<NewGateDecision> = {}): NewGateDecision {
  runSequence += 1;
  return {
    runId: 30_433_642 + runSequence,
    runAttempt: 1,
    environment: "production",
    installationId: 4242,
    repositoryId: 1_296_269,
    owner: "acme",
    repo: "api",
    state: "rejected",
    reason: "no-grant",
    comment: "no live jit-access grant for `@mallory` in `production`",
    grantId: null,
    actor: { id: 66, login: "mallory" },
    triggeringActor: { id: 66, login: "mallory" },
    workflowPath: ".github/workflows/deploy.yml",
    ref: "main",
    headSha: "d".repeat(40),
    event: "workflow_dispatch",
    runStartedAt: at(5),
    decidedAt: at(6),
    ...overrides,
  };
}

export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

const HEX64 = /^[0-9a-f]{64}$/;

export function ledgerContract(name: string, factory: LedgerFactory): void {
  describe(`${name} keeps the LedgerStore contract`, () => {
    let store: LedgerStore;
    beforeEach(async () => {
      store = await factory();
    });
    afterEach(async () => {
      await store.close();
    });

    const begin = async (overrides: Partial<NewGrant> = {}): Promise<Grant> => (await store.beginGrant(newGrant(overrides))).grant;

    describe("beginGrant", () => {
      it("writes every field and reads it back in state granting", async () => {
        const input = newGrant({
          repositoryId: 1_296_269,
          mergeBaseSha: "b".repeat(40),
          requestDigest: "c".repeat(64),
          approverPermissions: [
            { id: 8, login: "owner-one", permission: "write", via: "@owner-one" },
            { id: 9, login: "owner-two", permission: "admin", via: "@acme/dba" },
          ],
        });
        const { grant, created } = await store.beginGrant(input);
        expect(created).toBe(true);
        expect(grant.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        const expected: Grant = {
          ...input,
          repositoryId: 1_296_269,
          mergeBaseSha: "b".repeat(40),
          requestDigest: "c".repeat(64),
          id: grant.id,
          writeUncertainAt: null,
          grantedAt: null,
          endedAt: null,
          state: "granting",
          endReason: null,
          revokeAttempts: 0,
          nextAttemptAt: null,
          lastError: null,
          pendingEnd: null,
          secretWrite: "none",
          secretUpdatedAt: null,
          breakGlass: false,
          breakGlassReview: null,
        };
        expect(grant).toEqual(expected);
        expect(await store.getGrant(grant.id)).toEqual(expected);
      });

      it("stores null for the repository id, merge base, request digest and approvers' permissions when the grant has none", async () => {
        const grant = await begin();
        const none = { repositoryId: null, mergeBaseSha: null, requestDigest: null, approverPermissions: null };
        expect(grant).toMatchObject(none);
        expect(await store.getGrant(grant.id)).toMatchObject(none);
        // Break-glass: nobody approved, and that is recorded (an empty list, not "not recorded").
        const glass = await begin({ breakGlass: true, approvers: [], approverPermissions: [] });
        expect((await store.getGrant(glass.id))?.approverPermissions).toEqual([]);
      });

      it("keeps each approver's permission at the time and the entry they owned through, and nothing else of them", async () => {
        const approverPermissions = [
          { id: 9, login: "owner-two", permission: "maintain", via: "@acme/payments-owners", team: "ignored", email: "x@example.com" },
          { id: 8, login: "owner-one", permission: "write", via: "@owner-one" },
        ] as NewGrant["approverPermissions"];
        const grant = await begin({ approverPermissions });
        const stored = [
          { id: 9, login: "owner-two", permission: "maintain", via: "@acme/payments-owners" },
          { id: 8, login: "owner-one", permission: "write", via: "@owner-one" },
        ];
        expect(grant.approverPermissions).toEqual(stored);
        expect((await store.getGrant(grant.id))?.approverPermissions).toEqual(stored);
        expect((await store.listGrants({ liveOnly: false }))[0]?.approverPermissions).toEqual(stored);
      });

      it("keeps only id and login of people", async () => {
        const requester = { id: 7, login: "requester", email: "r@example.com" } as NewGrant["requester"];
        const grant = await begin({ requester, approvers: [] });
        expect(grant.requester).toEqual({ id: 7, login: "requester" });
        expect(grant.approvers).toEqual([]);
      });

      it("is idempotent on the request key: the second call returns the first grant and writes nothing", async () => {
        const input = newGrant();
        const first = await store.beginGrant(input, auditOf("granting"));
        const second = await store.beginGrant({ ...input, reason: "a redelivered webhook", expiresAt: at(999) }, auditOf("granting"));
        expect(second).toEqual({ grant: first.grant, created: false });
        expect(await store.listGrants({ liveOnly: false })).toHaveLength(1);
        expect((await store.listAudit()).map((event) => event.action)).toEqual(["granting"]);
      });

      it("gives each grant a different id", async () => {
        const a = await begin();
        const b = await begin();
        expect(a.id).not.toBe(b.id);
      });

      it("rejects an invalid date without writing", async () => {
        const error = await rejectionOf(store.beginGrant(newGrant({ expiresAt: new Date(Number.NaN) })));
        expect(error.message).toContain("expiresAt is not a valid date");
        expect(await store.listGrants({ liveOnly: false })).toEqual([]);
      });

      it.each<[string, Partial<NewGrant>, string]>([
        ["a repository id of 0", { repositoryId: 0 }, "repositoryId must be GitHub's repository id, a positive whole number; got 0"],
        ["a fractional repository id", { repositoryId: 1.5 }, "repositoryId must be GitHub's repository id"],
        [
          "an abbreviated merge base",
          { mergeBaseSha: "abc1234" },
          'mergeBaseSha must be a commit SHA in lower-case hex (40 or 64 digits); got "abc1234"',
        ],
        ["an upper-case merge base", { mergeBaseSha: "B".repeat(40) }, "mergeBaseSha must be a commit SHA"],
        [
          "a request digest that is not SHA-256 hex",
          { requestDigest: "sha256:" + "c".repeat(57) },
          "requestDigest must be a SHA-256 digest in lower-case hex (64 digits)",
        ],
        [
          "an approver whose permission does not let an approval count",
          {
            approverPermissions: [
              { id: 8, login: "owner-one", permission: "read" as "write", via: "@owner-one" },
              { id: 9, login: "owner-two", permission: "write", via: "@owner-two" },
            ],
          },
          `approverPermissions: owner-one's permission must be write, maintain or admin (only these count); got "read"`,
        ],
        [
          "an approver without the entry they owned through",
          {
            approverPermissions: [
              { id: 8, login: "owner-one", permission: "write", via: "" },
              { id: 9, login: "owner-two", permission: "write", via: "@owner-two" },
            ],
          },
          "approverPermissions: owner-one needs the CODEOWNERS entry they own through (via)",
        ],
        [
          "permissions for someone who is not an approver",
          {
            approverPermissions: [
              { id: 8, login: "owner-one", permission: "write", via: "@owner-one" },
              { id: 10, login: "someone-else", permission: "admin", via: "@someone-else" },
            ],
          },
          "approverPermissions must name exactly the grant's approvers, one entry each",
        ],
        [
          "an approver left without a permission",
          { approverPermissions: [{ id: 8, login: "owner-one", permission: "write", via: "@owner-one" }] },
          "approverPermissions must name exactly the grant's approvers, one entry each",
        ],
      ])("rejects %s, naming the field, and writes nothing", async (_, overrides, message) => {
        const error = await rejectionOf(store.beginGrant(newGrant(overrides), auditOf("granting")));
        expect(error.message).toContain(message);
        expect(await store.listGrants({ liveOnly: false })).toEqual([]);
        expect(await store.listAudit()).toEqual([]);
      });

      it("appends its audit record, naming the new grant, with the grant", async () => {
        const { grant } = await store.beginGrant(newGrant(), auditOf("granting", { at: at(0) }));
        expect(await store.listAudit()).toEqual([
          expect.objectContaining({ seq: 1, action: "granting", at: at(0), grantId: grant.id, details: { step: "granting" } }),
        ]);
      });

      it("writes no grant when its audit record cannot be written", async () => {
        const error = await rejectionOf(store.beginGrant(newGrant(), auditOf("granting", { at: new Date(Number.NaN) })));
        expect(error.message).toContain("at is not a valid date");
        expect(await store.listGrants({ liveOnly: false })).toEqual([]);
        expect(await store.listAudit()).toEqual([]);
      });
    });

    describe("state transitions", () => {
      it("markActive records when the secret was written and counts the expiry from then", async () => {
        const grant = await begin();
        const active = await store.markActive(grant.id, at(1));
        expect(active).toEqual({ ...grant, state: "active", grantedAt: at(1), expiresAt: at(1 + 120), secretWrite: "written" });
        expect(await store.getGrant(grant.id)).toEqual(active);
      });

      it("markWriting records, ahead of the PUT, that the grant's write is uncertain; nothing else changes", async () => {
        const grant = await begin();
        const writing = await store.markWriting(grant.id);
        expect(writing).toEqual({ ...grant, secretWrite: "uncertain" });
        expect(await store.getGrant(grant.id)).toEqual(writing);
        expect((await store.markActive(grant.id, at(1))).secretWrite).toBe("written");
      });

      it("recordWriteMark keeps GitHub's updated_at of the grant's write, to the millisecond, in any state", async () => {
        const grant = await begin();
        await store.markWriting(grant.id);
        const marked = await store.recordWriteMark(grant.id, new Date("2030-01-01T10:01:02.000Z"));
        expect(marked).toEqual({ ...grant, secretWrite: "uncertain", secretUpdatedAt: new Date("2030-01-01T10:01:02.000Z") });
        // A write that landed after its grant was ended is the app's all the same.
        await store.markEnded(grant.id, "revoked", "pull request closed", at(2));
        const ended = await store.recordWriteMark(grant.id, new Date("2030-01-01T10:01:03.456Z"));
        expect(ended).toMatchObject({ state: "revoked", secretUpdatedAt: new Date("2030-01-01T10:01:03.456Z") });
        expect(await store.getGrant(grant.id)).toEqual(ended);
      });

      it("markFailed records the reason and the time", async () => {
        const grant = await begin();
        const failed = await store.markFailed(grant.id, "PUT secret: 403 Resource not accessible", at(1));
        expect(failed).toEqual({
          ...grant,
          state: "failed",
          endReason: "PUT secret: 403 Resource not accessible",
          endedAt: at(1),
        });
      });

      it.each(["expired", "revoked"] as const)("markEnded(%s) ends a grant and clears its backoff", async (state) => {
        const grant = await begin();
        await store.markActive(grant.id, at(1));
        await store.recordRevokeFailure(grant.id, "DELETE secret: 502", at(125));
        const ended = await store.markEnded(grant.id, state, "pull request closed", at(130));
        expect(ended).toMatchObject({
          state,
          endReason: "pull request closed",
          endedAt: at(130),
          nextAttemptAt: null,
          revokeAttempts: 1,
          lastError: "DELETE secret: 502",
          grantedAt: at(1),
        });
      });

      it("markEnded works from granting (a crash before the secret was written)", async () => {
        const grant = await begin();
        expect((await store.markEnded(grant.id, "expired", "expired", at(121))).state).toBe("expired");
      });

      it("recordRevokeFailure counts attempts, keeps the state and sets the backoff", async () => {
        const grant = await begin();
        await store.markActive(grant.id, at(1));
        await store.recordRevokeFailure(grant.id, "DELETE secret: 502", at(121));
        const second = await store.recordRevokeFailure(grant.id, "DELETE secret: timeout", at(125));
        expect(second).toMatchObject({
          state: "active",
          revokeAttempts: 2,
          lastError: "DELETE secret: timeout",
          nextAttemptAt: at(125),
          pendingEnd: null,
        });
      });

      it("recordRevokeFailure keeps a pending end when a later failure gives none", async () => {
        const grant = await begin();
        const pendingEnd = { kind: "revoked" as const, reason: "pull request closed", actor: "alice" };
        await store.recordRevokeFailure(grant.id, "DELETE secret: 502", at(3), pendingEnd);
        const later = await store.recordRevokeFailure(grant.id, "DELETE secret: 503", at(4));
        expect(later.pendingEnd).toEqual(pendingEnd);
        expect((await store.getGrant(grant.id))?.pendingEnd).toEqual(pendingEnd);
      });

      type Step = (store: LedgerStore, id: string, audit?: AuditInput) => Promise<Grant>;
      const steps: Record<string, Step> = {
        markActive: (s, id, audit) => s.markActive(id, at(2), audit),
        markFailed: (s, id, audit) => s.markFailed(id, "boom", at(2), audit),
        "markEnded expired": (s, id, audit) => s.markEnded(id, "expired", "expired", at(2), audit),
        "markEnded revoked": (s, id, audit) => s.markEnded(id, "revoked", "operator", at(2), audit),
        recordRevokeFailure: (s, id, audit) => s.recordRevokeFailure(id, "502", at(3), undefined, audit),
        deferGrant: (s, id, audit) => s.deferGrant(id, "rate limited", at(3), audit),
        markWriting: (s, id, audit) => s.markWriting(id, audit),
        recordWriteMark: (s, id, audit) => s.recordWriteMark(id, at(2), audit),
      };
      const reach: Record<GrantState, Step | null> = {
        granting: null,
        active: steps.markActive!,
        failed: steps.markFailed!,
        expired: steps["markEnded expired"]!,
        revoked: steps["markEnded revoked"]!,
      };
      const legal: Record<string, GrantState[]> = {
        markActive: ["granting"],
        markFailed: ["granting"],
        "markEnded expired": ["granting", "active"],
        "markEnded revoked": ["granting", "active"],
        recordRevokeFailure: ["granting", "active"],
        deferGrant: ["granting"],
        markWriting: ["granting"],
        recordWriteMark: ["granting", "active", "failed", "expired", "revoked"],
      };
      const cases = Object.keys(steps).flatMap((step) =>
        (Object.keys(reach) as GrantState[]).map((from) => [step, from, legal[step]!.includes(from)] as const),
      );

      it.each(cases)("%s from %s: allowed = %s", async (step, from, allowed) => {
        const grant = await begin();
        await reach[from]?.(store, grant.id);
        const attempt = steps[step]!(store, grant.id, auditOf("failed", { details: { step } }));
        if (allowed) {
          await expect(attempt).resolves.toMatchObject({ id: grant.id });
          expect((await store.listAudit()).at(-1)).toMatchObject({ grantId: grant.id, details: { step } });
          return;
        }
        const error = await rejectionOf(attempt);
        expect(error).toBeInstanceOf(IllegalTransitionError);
        expect(error.message).toContain(`grant ${grant.id} is ${from}`);
        expect(error).toMatchObject({ grantId: grant.id, state: from });
        expect((await store.getGrant(grant.id))?.state).toBe(from);
        // The refused change wrote no audit record either.
        expect(await store.listAudit()).toEqual([]);
      });

      it("a double revoke is detected", async () => {
        const grant = await begin();
        await store.markEnded(grant.id, "revoked", "operator: alice", at(5));
        const error = await rejectionOf(store.markEnded(grant.id, "revoked", "operator: bob", at(6)));
        expect(error.message).toBe(`grant ${grant.id} is revoked; cannot mark it revoked (allowed only from granting or active)`);
        expect((await store.getGrant(grant.id))?.endReason).toBe("operator: alice");
      });

      it.each(Object.entries(steps))("%s on an unknown grant names the grant", async (_, step) => {
        const error = await rejectionOf(step(store, "no-such-grant"));
        expect(error.message).toContain("grant no-such-grant is not in the ledger");
      });

      const invalid = new Date(Number.NaN);
      const withInvalidDate: Record<string, (s: LedgerStore, id: string) => Promise<Grant>> = {
        markActive: (s, id) => s.markActive(id, invalid),
        markFailed: (s, id) => s.markFailed(id, "boom", invalid),
        markEnded: (s, id) => s.markEnded(id, "expired", "expired", invalid),
        recordRevokeFailure: (s, id) => s.recordRevokeFailure(id, "502", invalid),
        deferGrant: (s, id) => s.deferGrant(id, "rate limited", invalid),
        recordWriteMark: (s, id) => s.recordWriteMark(id, invalid),
      };

      it.each(Object.entries(withInvalidDate))("%s rejects an invalid date and changes nothing", async (_, step) => {
        const grant = await begin();
        const error = await rejectionOf(step(store, grant.id));
        expect(error.message).toContain("is not a valid date");
        expect(await store.getGrant(grant.id)).toEqual(grant);
      });
    });

    describe("a state change and its audit record are one transaction", () => {
      type Change = [
        name: string,
        reachFromGranting: (s: LedgerStore, id: string) => Promise<unknown>,
        change: (s: LedgerStore, id: string, audit: AuditInput) => Promise<Grant>,
      ];
      const noop = async (): Promise<void> => undefined;
      const changes: Change[] = [
        ["markActive", noop, (s, id, audit) => s.markActive(id, at(2), audit)],
        ["markFailed", noop, (s, id, audit) => s.markFailed(id, "boom", at(2), audit)],
        [
          "markEnded",
          (s, id) => s.markActive(id, at(1)),
          (s, id, audit) => s.markEnded(id, "revoked", "pull request closed", at(2), audit),
        ],
        [
          "recordRevokeFailure",
          (s, id) => s.markActive(id, at(1)),
          (s, id, audit) => s.recordRevokeFailure(id, "DELETE: 502", at(3), { kind: "revoked", reason: "closed", actor: "alice" }, audit),
        ],
        ["deferGrant", noop, (s, id, audit) => s.deferGrant(id, "rate limited", at(3), audit)],
        ["markWriting", noop, (s, id, audit) => s.markWriting(id, audit)],
        ["recordWriteMark", (s, id) => s.markActive(id, at(1)), (s, id, audit) => s.recordWriteMark(id, at(2), audit)],
      ];

      it.each(changes)("%s appends its audit record, naming the grant, with the change", async (_, prepare, change) => {
        const grant = await begin();
        await prepare(store, grant.id);
        const changed = await change(store, grant.id, auditOf("revoked", { at: at(2) }));
        expect(await store.getGrant(grant.id)).toEqual(changed);
        expect(await store.listAudit()).toEqual([
          expect.objectContaining({ seq: 1, action: "revoked", at: at(2), grantId: grant.id, details: { step: "revoked" } }),
        ]);
      });

      it.each(changes)("%s is rolled back when its audit record cannot be written", async (_, prepare, change) => {
        const grant = await begin();
        await prepare(store, grant.id);
        const before = await store.getGrant(grant.id);
        const unwritable: AuditInput[] = [
          auditOf("revoked", { at: new Date(Number.NaN) }),
          auditOf("revoked", { details: { attempts: 10n } as unknown as Record<string, unknown> }),
          // Refused by the database itself (actor is NOT NULL), after the grant's row was updated.
          auditOf("revoked", { actor: null as unknown as string }),
        ];
        for (const audit of unwritable) {
          const error = await rejectionOf(change(store, grant.id, audit));
          if (audit.actor === null) expect(error.name).toBe("LedgerStorageError");
          expect(await store.getGrant(grant.id)).toEqual(before);
        }
        expect(await store.listAudit()).toEqual([]);
      });

      it.each(changes)("%s refuses an audit record that names another grant, and changes nothing", async (_, prepare, change) => {
        const grant = await begin();
        const other = await begin();
        await prepare(store, grant.id);
        const before = await store.getGrant(grant.id);
        const error = await rejectionOf(change(store, grant.id, auditOf("revoked", { grantId: other.id })));
        expect(error.message).toContain(`the audit record of a change to grant ${grant.id} names grant ${other.id}`);
        expect(await store.getGrant(grant.id)).toEqual(before);
        expect(await store.listAudit()).toEqual([]);
      });

      it("accepts an audit record that already names the grant", async () => {
        const grant = await begin();
        await store.markActive(grant.id, at(1), auditOf("granted", { grantId: grant.id }));
        expect((await store.listAudit()).map((event) => event.grantId)).toEqual([grant.id]);
      });
    });

    describe("claims on due grants", () => {
      /** Active grants expiring at minutes 0, 1, 2…, so all are due at minute 200. */
      const dueGrants = async (count: number): Promise<Grant[]> => {
        const grants: Grant[] = [];
        for (let minute = 0; minute < count; minute += 1) {
          const grant = await begin({ createdAt: at(-60), durationMs: 60 * 60_000 + minute * 60_000, expiresAt: at(minute) });
          grants.push(await store.markActive(grant.id, at(-60)));
        }
        return grants;
      };
      const ids = (grants: Grant[]): string[] => grants.map((grant) => grant.id);
      const claim = (owner: string, until: Date, limit = 10, now = at(200), after?: { expiresAt: Date; id: string }) =>
        store.claimDueGrants(now, limit, { owner, until }, after);

      it("claims the grants dueGrants lists, in its order, and gives two claimers never the same grant", async () => {
        const grants = await dueGrants(3);
        await begin({ expiresAt: at(500) });
        expect(ids(await claim("replica-a", at(210), 2))).toEqual(ids(grants.slice(0, 2)));
        expect(ids(await claim("replica-b", at(210)))).toEqual(ids(grants.slice(2)));
        expect(await claim("replica-b", at(210))).toEqual([]);
        expect(await claim("replica-a", at(210))).toEqual([]);
        // The claim does not change the grant as the ledger reports it.
        expect(await store.getGrant(grants[0]!.id)).toEqual(grants[0]);
      });

      it("splits the due grants between claimers that claim at the same time", async () => {
        const grants = await dueGrants(6);
        const claimed = await Promise.all(["replica-a", "replica-b", "replica-c"].map((owner) => claim(owner, at(210), 3)));
        const all = claimed.flatMap(ids);
        expect(new Set(all).size).toBe(all.length);
        expect(all.sort()).toEqual(ids(grants).sort());
      });

      it("lets another claimer take a grant once its claim's lease has ended", async () => {
        const [grant] = await dueGrants(1);
        expect(ids(await claim("replica-a", at(201)))).toEqual([grant!.id]);
        expect(await claim("replica-b", at(260), 10, at(200))).toEqual([]);
        expect(ids(await claim("replica-b", at(260), 10, at(201)))).toEqual([grant!.id]);
        expect(await claim("replica-a", at(300), 10, at(250))).toEqual([]);
      });

      it("frees a grant when its claimer releases it, and only then", async () => {
        const [grant] = await dueGrants(1);
        await claim("replica-a", at(210));
        expect(await store.releaseClaim(grant!.id, "replica-b")).toBe(false);
        expect(await claim("replica-b", at(210))).toEqual([]);
        expect(await store.releaseClaim(grant!.id, "replica-a")).toBe(true);
        expect(await store.releaseClaim(grant!.id, "replica-a")).toBe(false);
        expect(ids(await claim("replica-b", at(210)))).toEqual([grant!.id]);
      });

      it("claims one live grant, due or not, unless another claimer's lease holds it", async () => {
        const [due] = await dueGrants(1);
        const later = await store.markActive((await begin({ expiresAt: at(500) })).id, at(-60));
        // Not due yet: an exact timer claims it only when it fires, but the claim does not ask.
        expect((await store.claimGrant(later.id, at(200), { owner: "replica-a", until: at(210) }))?.id).toBe(later.id);
        expect(await store.claimGrant(later.id, at(200), { owner: "replica-b", until: at(210) })).toBeNull();
        // The owner renews its own claim; once the lease ends, another may take the grant.
        expect(await store.claimGrant(later.id, at(205), { owner: "replica-a", until: at(220) })).toEqual(later);
        expect(await store.claimGrant(later.id, at(215), { owner: "replica-b", until: at(230) })).toBeNull();
        expect(await store.claimGrant(later.id, at(220), { owner: "replica-b", until: at(230) })).toEqual(later);
        // A grant claimed one by one is passed over by a sweep's claim, and the other way round.
        expect(await store.claimGrant(due!.id, at(200), { owner: "replica-a", until: at(210) })).toEqual(due);
        expect(await claim("replica-b", at(210))).toEqual([]);
        expect(await store.releaseClaim(due!.id, "replica-a")).toBe(true);
        expect(ids(await claim("replica-b", at(210)))).toEqual([due!.id]);
        expect(await store.claimGrant(due!.id, at(200), { owner: "replica-a", until: at(210) })).toBeNull();
        // An ended grant, or none, is not claimed.
        await store.markEnded(later.id, "expired", "expired", at(501));
        expect(await store.claimGrant(later.id, at(600), { owner: "replica-a", until: at(610) })).toBeNull();
        expect(await store.claimGrant("no-such-grant", at(600), { owner: "replica-a", until: at(610) })).toBeNull();
      });

      it("pages with after, as dueGrants does, and claims no grant that is not due", async () => {
        const grants = await dueGrants(3);
        const backingOff = await store.recordRevokeFailure(grants[1]!.id, "DELETE: 502", at(300));
        expect(ids(await claim("replica-a", at(400), 1))).toEqual([grants[0]!.id]);
        expect(ids(await claim("replica-a", at(400), 5, at(200), { expiresAt: grants[0]!.expiresAt, id: grants[0]!.id }))).toEqual([
          grants[2]!.id,
        ]);
        // Its backoff over, the grant that failed is due, and the only one not claimed.
        expect(ids(await claim("replica-b", at(400), 5, at(300)))).toEqual([backingOff.id]);
        await expect(claim("replica-a", at(210), 0)).rejects.toThrow("positive whole limit");
      });
    });

    describe("claims on interrupted grants", () => {
      /** A grant recorded at minute `minute` for an hour, left granting as a crash leaves it. */
      const interrupted = (minute: number): Promise<Grant> =>
        begin({ createdAt: at(minute), durationMs: 3_600_000, expiresAt: at(minute + 60) });
      const ids = (grants: Grant[]): string[] => grants.map((grant) => grant.id);
      const claim = (owner: string, until: Date, { now = at(30), before = at(20), limit = 10 } = {}) =>
        store.claimInterruptedGrants(now, before, limit, { owner, until });

      it("claims granting rows with no retry time and no end pending, recorded by the bound, oldest first", async () => {
        const second = await interrupted(5);
        const first = await interrupted(0);
        const writing = await store.markWriting((await interrupted(10)).id);
        expect(ids(await claim("replica-a", at(40)))).toEqual([first.id, second.id, writing.id]);
        // The claim does not change the grant as the ledger reports it.
        expect(await store.getGrant(first.id)).toEqual(first);
      });

      it("passes over rows recorded after the bound, expired, deferred, ended or with an end pending", async () => {
        const young = await interrupted(25);
        const expired = await interrupted(-40);
        const deferred = await interrupted(1);
        await store.deferGrant(deferred.id, "502 on PUT", at(2));
        const active = await interrupted(2);
        await store.markActive(active.id, at(3));
        const failed = await interrupted(3);
        await store.markFailed(failed.id, "environment missing", at(4));
        const pending = await store.markWriting((await interrupted(4)).id);
        await store.recordRevokeFailure(pending.id, "DELETE: 502", at(100), { kind: "failed", reason: "refused", actor: "jit-access" });
        expect(await claim("replica-a", at(40))).toEqual([]);
        // Older than the bound now; the one that expired is the sweep's to end.
        expect(ids(await claim("replica-a", at(40), { before: at(25) }))).toEqual([young.id]);
        expect(ids(await store.dueGrants(at(30), 10))).toContain(expired.id);
      });

      it("gives two claimers never the same row, also when they claim at the same time", async () => {
        const grants = await Promise.all([0, 1, 2, 3, 4, 5].map(interrupted));
        const claimed = await Promise.all(["replica-a", "replica-b", "replica-c"].map((owner) => claim(owner, at(40), { limit: 3 })));
        const all = claimed.flatMap(ids);
        expect(new Set(all).size).toBe(all.length);
        expect(all.sort()).toEqual(ids(grants).sort());
        expect(await claim("replica-d", at(40))).toEqual([]);
      });

      it("lets another claimer take a row once the claim's lease ended or its claimer released it", async () => {
        const grant = await interrupted(0);
        expect(ids(await claim("replica-a", at(31)))).toEqual([grant.id]);
        expect(await claim("replica-b", at(50))).toEqual([]);
        expect(ids(await claim("replica-b", at(50), { now: at(31) }))).toEqual([grant.id]);
        expect(await store.releaseClaim(grant.id, "replica-a")).toBe(false);
        expect(await store.releaseClaim(grant.id, "replica-b")).toBe(true);
        expect(ids(await claim("replica-a", at(40), { now: at(31) }))).toEqual([grant.id]);
        await expect(claim("replica-a", at(40), { limit: 0 })).rejects.toThrow("positive whole limit");
      });

      it("and the sweep's claim on a due grant and this one exclude each other", async () => {
        const grant = await interrupted(0);
        expect(ids(await claim("replica-a", at(70)))).toEqual([grant.id]);
        // Expired while claimed: the sweep waits for the claim.
        expect(await store.claimDueGrants(at(61), 10, { owner: "replica-b", until: at(70) })).toEqual([]);
        await store.releaseClaim(grant.id, "replica-a");
        expect(ids(await store.claimDueGrants(at(61), 10, { owner: "replica-b", until: at(70) }))).toEqual([grant.id]);
      });
    });

    describe("deferred grants", () => {
      const deferrable = (key: string): NewGrant => newGrant({ requestKey: key, createdAt: T0, durationMs: 3_600_000, expiresAt: at(60) });

      it("keeps a deferred grant granting and lists it once its retry time has come, until it expires", async () => {
        const { grant } = await store.beginGrant(deferrable("k1"));
        const deferred = await store.deferGrant(grant.id, "GitHub rate-limited the write", at(1));
        expect(deferred).toMatchObject({ state: "granting", lastError: "GitHub rate-limited the write", nextAttemptAt: at(1) });
        expect(await store.grantsAwaitingRetry(at(0), 10)).toEqual([]);
        expect((await store.grantsAwaitingRetry(at(1), 10)).map((g) => g.id)).toEqual([grant.id]);
        expect(await store.grantsAwaitingRetry(at(60), 10)).toEqual([]);
      });

      it("does not list grants that were never deferred or are no longer granting", async () => {
        const { grant: writing } = await store.beginGrant(deferrable("k1"));
        const { grant: done } = await store.beginGrant(deferrable("k2"));
        await store.deferGrant(done.id, "502", at(1));
        await store.markActive(done.id, at(2));
        expect(await store.grantsAwaitingRetry(at(5), 10)).toEqual([]);
        expect((await store.getGrant(done.id))!).toMatchObject({ state: "active", lastError: null, nextAttemptAt: null });
        expect((await store.getGrant(writing.id))!.nextAttemptAt).toBeNull();
      });

      it("keeps what the grant may have written unless told: none once an uncertain write was undone", async () => {
        const { grant } = await store.beginGrant(deferrable("k1"));
        await store.markWriting(grant.id);
        // The PUT's answer was lost and undoing it failed: the write stays uncertain.
        expect((await store.deferGrant(grant.id, "502 on PUT", at(1), undefined, { writeUncertainAt: at(0) })).secretWrite).toBe(
          "uncertain",
        );
        expect((await store.deferGrant(grant.id, "waiting", at(2))).secretWrite).toBe("uncertain");
        // The next attempt undid it.
        const undone = await store.deferGrant(grant.id, "502 on PUT", at(3), undefined, { secretWrite: "none" });
        expect(undone).toMatchObject({ secretWrite: "none", writeUncertainAt: at(0) });
        expect(await store.getGrant(grant.id)).toEqual(undone);
      });

      it("does not list a grant whose end is pending: its secret is being deleted, not written", async () => {
        const { grant } = await store.beginGrant(deferrable("k1"));
        const { grant: waiting } = await store.beginGrant(deferrable("k2"));
        await store.deferGrant(grant.id, "502 on PUT", at(1));
        await store.deferGrant(waiting.id, "502 on PUT", at(1));
        await store.recordRevokeFailure(grant.id, "DELETE secret: 502", at(2), {
          kind: "failed",
          reason: "GitHub refused the write",
          actor: "jit-access",
        });
        expect((await store.grantsAwaitingRetry(at(5), 10)).map((g) => g.id)).toEqual([waiting.id]);
      });

      it("refuses to defer a grant that is not granting", async () => {
        const { grant } = await store.beginGrant(deferrable("k1"));
        await store.markActive(grant.id, at(1));
        await expect(store.deferGrant(grant.id, "x", at(2))).rejects.toThrow(/is active; cannot defer its write/);
      });

      it("counts the expiry from the write: the write-ahead expiry moves to the write plus the duration", async () => {
        const { grant } = await store.beginGrant(deferrable("k1"));
        expect(grant.expiresAt).toEqual(at(60));
        const active = await store.markActive(grant.id, at(3));
        expect(active).toMatchObject({ grantedAt: at(3), expiresAt: at(63) });
        expect(await store.getGrant(grant.id)).toMatchObject({ grantedAt: at(3), expiresAt: at(63) });
      });

      it("fixes the expiry at the first write whose outcome was unknown: a later retry never moves it later", async () => {
        const { grant } = await store.beginGrant(deferrable("k1"));
        // The PUT sent at minute 2 may have landed: the expiry counts from then.
        const deferred = await store.deferGrant(grant.id, "502 on PUT", at(3), undefined, { writeUncertainAt: at(2) });
        expect(deferred).toMatchObject({ writeUncertainAt: at(2), expiresAt: at(62) });
        // Another uncertain write at minute 5 changes nothing: the first one may have landed.
        const again = await store.deferGrant(grant.id, "502 on PUT", at(6), undefined, { writeUncertainAt: at(5) });
        expect(again).toMatchObject({ writeUncertainAt: at(2), expiresAt: at(62) });
        const active = await store.markActive(grant.id, at(30));
        expect(active).toMatchObject({ state: "active", grantedAt: at(2), expiresAt: at(62) });
        expect(await store.getGrant(grant.id)).toMatchObject({ grantedAt: at(2), expiresAt: at(62), writeUncertainAt: at(2) });
      });

      it("a deferral with nothing written (a rate limit before the PUT) still counts the expiry from the write", async () => {
        const { grant } = await store.beginGrant(deferrable("k1"));
        await store.deferGrant(grant.id, "rate limited", at(1));
        expect(await store.markActive(grant.id, at(4))).toMatchObject({ grantedAt: at(4), expiresAt: at(64), writeUncertainAt: null });
      });
    });

    describe("queries", () => {
      it("getGrant returns null for an unknown id", async () => {
        expect(await store.getGrant("no-such-grant")).toBeNull();
      });

      it("listGrants filters, defaults to live grants, and orders by creation", async () => {
        const a = await begin({ createdAt: at(2), prNumber: 1 });
        const b = await begin({ createdAt: at(1), prNumber: 2, environment: "staging" });
        const c = await begin({ createdAt: at(3), prNumber: 1, repo: "web" });
        const ended = await begin({ createdAt: at(0), prNumber: 1 });
        await store.markEnded(ended.id, "revoked", "closed", at(4));
        const ids = async (filter?: Parameters<LedgerStore["listGrants"]>[0]) => (await store.listGrants(filter)).map((grant) => grant.id);

        expect(await ids()).toEqual([b.id, a.id, c.id]);
        expect(await ids({ liveOnly: false })).toEqual([ended.id, b.id, a.id, c.id]);
        expect(await ids({ owner: "acme", repo: "api", prNumber: 1 })).toEqual([a.id]);
        expect(await ids({ prNumber: 1, liveOnly: false })).toEqual([ended.id, a.id, c.id]);
        expect(await ids({ environment: "staging" })).toEqual([b.id]);
        expect(await ids({ secret: "OTHER" })).toEqual([]);
        expect(await ids({ owner: "ACME", repo: "Web" })).toEqual([c.id]);
      });

      it("listGrants filters by repository id, alone or with the pull request", async () => {
        const a = await begin({ repositoryId: 100, prNumber: 1, createdAt: at(1) });
        const b = await begin({ repositoryId: 100, prNumber: 2, createdAt: at(2) });
        // The same repository under its old name: the id still finds it.
        const renamed = await begin({ repositoryId: 100, repo: "old-name", prNumber: 1, createdAt: at(3) });
        await begin({ repositoryId: 200, prNumber: 1 });
        await begin({ prNumber: 1 });
        const ids = async (filter: Parameters<LedgerStore["listGrants"]>[0]) => (await store.listGrants(filter)).map((grant) => grant.id);

        expect(await ids({ repositoryId: 100 })).toEqual([a.id, b.id, renamed.id]);
        expect(await ids({ repositoryId: 100, prNumber: 1 })).toEqual([a.id, renamed.id]);
        expect(await ids({ repositoryId: 300 })).toEqual([]);
        await expect(store.listGrants({ repositoryId: -1 })).rejects.toThrow("repositoryId must be GitHub's repository id");
      });

      it("setRepositoryId fills in the id on that repository's grants that have none, and only there", async () => {
        const older = await begin({ createdAt: at(1) });
        const ended = await begin({ createdAt: at(2) });
        await store.markEnded(ended.id, "expired", "expired", at(3));
        const otherCase = await begin({ owner: "ACME", repo: "Api", createdAt: at(4) });
        const recorded = await begin({ repositoryId: 555, createdAt: at(5) });
        const otherRepo = await begin({ repo: "web", createdAt: at(6) });

        expect(await store.setRepositoryId("acme", "api", 100)).toBe(3);

        const byId = async (id: string): Promise<number | null | undefined> => (await store.getGrant(id))?.repositoryId;
        expect(await byId(older.id)).toBe(100);
        expect(await byId(ended.id)).toBe(100);
        expect(await byId(otherCase.id)).toBe(100);
        // A grant that has an id keeps it: the name may since belong to another repository.
        expect(await byId(recorded.id)).toBe(555);
        expect(await byId(otherRepo.id)).toBeNull();
        expect((await store.listGrants({ repositoryId: 100, liveOnly: false })).map((g) => g.id)).toEqual([
          older.id,
          ended.id,
          otherCase.id,
        ]);

        // Nothing is left to fill: a second call changes nothing.
        expect(await store.setRepositoryId("acme", "api", 101)).toBe(0);
        expect(await byId(older.id)).toBe(100);
      });

      it.each([0, -5, 2.5, Number.NaN])("setRepositoryId refuses the id %p and changes nothing", async (repositoryId) => {
        const grant = await begin();
        await expect(store.setRepositoryId("acme", "api", repositoryId)).rejects.toThrow("repositoryId must be GitHub's repository id");
        expect((await store.getGrant(grant.id))?.repositoryId).toBeNull();
      });

      it("countOtherWritten counts the other live grants whose secret was written, and no other", async () => {
        const mine = await begin();
        await store.markActive(mine.id, at(1));
        expect(await store.countOtherWritten("acme", "api", "production", "PROD_DB_URL", mine.id)).toBe(0);

        const other = await begin();
        await store.markActive(other.id, at(1));
        // Live but never written: a grant being written, a deferred one, one whose PUT is uncertain.
        await begin();
        const deferred = await begin();
        await store.deferGrant(deferred.id, "502 on the key read", at(2));
        const uncertain = await begin();
        await store.markWriting(uncertain.id);
        await store.deferGrant(uncertain.id, "502 on PUT", at(2), undefined, { writeUncertainAt: at(1) });
        // Another environment, repository or secret.
        await store.markActive((await begin({ environment: "staging" })).id, at(1));
        await store.markActive((await begin({ repo: "web" })).id, at(1));
        await store.markActive((await begin({ secret: "OTHER_SECRET" })).id, at(1));
        // Written once, ended since.
        const ended = await begin();
        await store.markActive(ended.id, at(1));
        await store.markEnded(ended.id, "expired", "expired", at(2));
        const failed = await begin();
        await store.markFailed(failed.id, "boom", at(2));

        expect(await store.countOtherWritten("acme", "api", "production", "PROD_DB_URL", mine.id)).toBe(1);
        expect(await store.countOtherWritten("acme", "api", "production", "PROD_DB_URL", other.id)).toBe(1);
        expect(await store.countOtherWritten("acme", "api", "production", "PROD_DB_URL", uncertain.id)).toBe(2);
        expect(await store.countOtherWritten("acme", "api", "production", "PROD_DB_URL", "none")).toBe(2);
      });

      it("countOtherWritten still counts a written grant whose revocation is failing: its secret is there", async () => {
        const holder = await begin();
        await store.markActive(holder.id, at(1));
        await store.recordRevokeFailure(holder.id, "DELETE secret: 502", at(125), { kind: "revoked", reason: "closed", actor: "alice" });
        expect(await store.countOtherWritten("acme", "api", "production", "PROD_DB_URL", "none")).toBe(1);
      });

      it("countOtherWritten compares names case-insensitively, as GitHub does", async () => {
        const mine = await begin();
        const other = await begin({ owner: "Acme", repo: "API", environment: "Production", secret: "prod_db_url" });
        await store.markActive(other.id, at(1));
        expect(await store.countOtherWritten("acme", "api", "production", "PROD_DB_URL", mine.id)).toBe(1);
      });

      it("findWriteMark finds the grant, in any state, whose write left that updated_at", async () => {
        const mark = new Date("2030-01-01T10:01:02.000Z");
        const writer = await begin({ createdAt: at(1) });
        await store.markActive(writer.id, at(1));
        await store.recordWriteMark(writer.id, mark);
        await store.markEnded(writer.id, "expired", "expired", at(121));
        // The same mark on another secret, environment or repository is not this secret's.
        for (const where of [{ secret: "OTHER_SECRET" }, { environment: "staging" }, { repo: "web" }]) {
          await store.recordWriteMark((await begin({ ...where, createdAt: at(0) })).id, mark);
        }

        expect(await store.findWriteMark("acme", "api", "production", "PROD_DB_URL", mark)).toMatchObject({
          id: writer.id,
          state: "expired",
          secretUpdatedAt: mark,
        });
        expect((await store.findWriteMark("ACME", "Api", "PRODUCTION", "prod_db_url", mark))?.id).toBe(writer.id);
        expect(await store.findWriteMark("acme", "api", "production", "PROD_DB_URL", new Date(mark.getTime() + 1000))).toBeNull();
        expect(await store.findWriteMark("acme", "api", "production", "PROD_DB_URL", new Date(mark.getTime() + 1))).toBeNull();
        expect(await store.findWriteMark("acme", "api", "staging", "PROD_DB_URL", at(5))).toBeNull();
      });

      it("findWriteMark returns the earliest grant when several recorded the same mark", async () => {
        const mark = new Date("2030-01-01T10:01:02.000Z");
        const later = await begin({ createdAt: at(2) });
        const first = await begin({ createdAt: at(1) });
        await store.recordWriteMark(later.id, mark);
        await store.recordWriteMark(first.id, mark);
        expect((await store.findWriteMark("acme", "api", "production", "PROD_DB_URL", mark))?.id).toBe(first.id);
      });

      it("findWriteMark rejects an invalid date", async () => {
        const error = await rejectionOf(store.findWriteMark("acme", "api", "production", "PROD_DB_URL", new Date(Number.NaN)));
        expect(error.message).toContain("updatedAt is not a valid date");
      });

      it("folds only ASCII letters when it compares names: a look-alike beyond ASCII is another name", async () => {
        const mine = await begin();
        // U+0130 (İ) and U+212A (the Kelvin sign) lower-case to "i̇" and "k" outside ASCII; GitHub does not fold them.
        const dotted = await begin({ environment: "PRODUCT\u0130ON" });
        const kelvin = await begin({ owner: "\u212Aacme" });
        await store.markActive(dotted.id, at(1));
        await store.markActive(kelvin.id, at(1));
        expect(await store.countOtherWritten("acme", "api", "production", "PROD_DB_URL", mine.id)).toBe(0);
        expect(await store.countOtherWritten("acme", "api", "product\u0130on", "PROD_DB_URL", "none")).toBe(1);
        expect((await store.listGrants({ environment: "product\u0130on" })).map((grant) => grant.id)).toEqual([dotted.id]);
        expect((await store.listGrants({ owner: "kacme" })).map((grant) => grant.id)).toEqual([]);
        expect((await store.listGrants({ owner: "\u212AACME" })).map((grant) => grant.id)).toEqual([kelvin.id]);
        expect(await store.setRepositoryId("kacme", "api", 77)).toBe(0);
      });

      it("expiringBy returns live grants expiring at or before the time, soonest first", async () => {
        // Written at minute 1 for 29 minutes: expires at minute 30.
        const late = await begin({ expiresAt: at(30), durationMs: 29 * 60_000 });
        const soon = await begin({ expiresAt: at(10) });
        const exact = await begin({ expiresAt: at(20) });
        await begin({ expiresAt: at(21) });
        const ended = await begin({ expiresAt: at(5) });
        await store.markEnded(ended.id, "revoked", "closed", at(1));
        await store.markActive(late.id, at(1));

        expect((await store.expiringBy(at(20))).map((grant) => grant.id)).toEqual([soon.id, exact.id]);
        expect((await store.expiringBy(at(30))).map((grant) => grant.id)).toContain(late.id);
        expect(await store.expiringBy(at(0))).toEqual([]);
      });
    });

    describe("extensions and reminders", () => {
      /** A grant written at minute 1 for 119 minutes: active, expiring at minute 120. */
      const active = async (): Promise<Grant> => {
        const grant = await begin({ durationMs: 119 * 60_000 });
        return store.markActive(grant.id, at(1));
      };

      it("a new grant has no extension and no reminder; an unknown id has no follow-up", async () => {
        const grant = await active();
        expect(await store.followUp(grant.id)).toEqual({ extensions: 0, remindedAt: null });
        expect(await store.followUp("no-such-grant")).toBeNull();
      });

      it("extendGrant moves an active grant's expiry and counts it, with its audit record, up to maxTimes", async () => {
        const grant = await active();
        const once = await store.extendGrant(grant.id, at(150), 2, auditOf("extended", { details: { by: "30m" } }));
        expect(once).toMatchObject({ id: grant.id, state: "active", expiresAt: at(150) });
        expect(await store.getGrant(grant.id)).toMatchObject({ expiresAt: at(150) });
        const twice = await store.extendGrant(grant.id, at(160), 2);
        expect(twice?.expiresAt).toEqual(at(160));
        expect(await store.followUp(grant.id)).toEqual({ extensions: 2, remindedAt: null });
        // The third is over maxTimes: nothing is written, not even the audit record.
        expect(await store.extendGrant(grant.id, at(170), 2, auditOf("extended"))).toBeNull();
        expect((await store.getGrant(grant.id))?.expiresAt).toEqual(at(160));
        expect((await store.listAudit()).filter((e) => e.action === "extended")).toEqual([
          expect.objectContaining({ grantId: grant.id, details: { by: "30m" } }),
        ]);
        // Moved expiries are what the sweep and the timers read.
        expect((await store.expiringBy(at(155))).map((g) => g.id)).not.toContain(grant.id);
        expect((await store.dueGrants(at(160), 10)).map((g) => g.id)).toContain(grant.id);
      });

      it("extendGrant refuses a grant that is not active, and an expiry that is not later", async () => {
        const granting = await begin();
        await expect(store.extendGrant(granting.id, at(200), 1)).rejects.toBeInstanceOf(IllegalTransitionError);
        const ended = await active();
        await store.markEnded(ended.id, "revoked", "done", at(2));
        await expect(store.extendGrant(ended.id, at(200), 1)).rejects.toBeInstanceOf(IllegalTransitionError);
        const grant = await active();
        await expect(store.extendGrant(grant.id, at(120), 1)).rejects.toThrow("must move grant");
        expect(await store.followUp(grant.id)).toEqual({ extensions: 0, remindedAt: null });
      });

      it("recordReminder records once per active grant; only the first call gets true and writes its audit", async () => {
        const grant = await active();
        expect(await store.recordReminder(grant.id, at(110), auditOf("reminded"))).toBe(true);
        expect(await store.recordReminder(grant.id, at(111), auditOf("reminded"))).toBe(false);
        expect(await store.followUp(grant.id)).toEqual({ extensions: 0, remindedAt: at(110) });
        expect((await store.listAudit()).filter((e) => e.action === "reminded")).toHaveLength(1);
        const granting = await begin();
        expect(await store.recordReminder(granting.id, at(110))).toBe(false);
        // Two at once: exactly one wins.
        const raced = await active();
        const answers = await Promise.all([store.recordReminder(raced.id, at(110)), store.recordReminder(raced.id, at(110))]);
        expect(answers.sort()).toEqual([false, true]);
      });

      it("awaitingReminder lists active grants without a reminder expiring by the time, soonest first, at most limit", async () => {
        const late = await active();
        const soon = await store.markActive((await begin({ durationMs: 59 * 60_000 })).id, at(1));
        const reminded = await active();
        await store.recordReminder(reminded.id, at(100));
        await begin({ expiresAt: at(30) });
        expect((await store.awaitingReminder(at(120), 10)).map((g) => g.id)).toEqual([soon.id, late.id]);
        expect((await store.awaitingReminder(at(120), 1)).map((g) => g.id)).toEqual([soon.id]);
        expect(await store.awaitingReminder(at(59), 10)).toEqual([]);
      });
    });

    describe("dueGrants", () => {
      const dueIds = async (now: Date, limit: number, after?: Grant): Promise<string[]> =>
        (await store.dueGrants(now, limit, after && { expiresAt: after.expiresAt, id: after.id })).map((g) => g.id);

      it("returns live grants expired by now, oldest expiry first, at most limit", async () => {
        // Written at minute 1 for 19 minutes: expires at minute 20.
        const second = await begin({ expiresAt: at(20), durationMs: 19 * 60_000 });
        const first = await begin({ expiresAt: at(10) });
        const third = await begin({ expiresAt: at(30) });
        await begin({ expiresAt: at(31) });
        const ended = await begin({ expiresAt: at(5) });
        await store.markEnded(ended.id, "revoked", "closed", at(1));
        await store.markActive(second.id, at(1));

        expect(await dueIds(at(30), 10)).toEqual([first.id, second.id, third.id]);
        expect(await dueIds(at(30), 2)).toEqual([first.id, second.id]);
        expect(await dueIds(at(9), 10)).toEqual([]);
      });

      it("pages by (expiry, id) without skipping or repeating grants that expire together", async () => {
        const grants = await Promise.all(Array.from({ length: 7 }, (_, i) => begin({ expiresAt: at(i < 5 ? 10 : 11) })));
        const expected = [...grants]
          .sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime() || (a.id < b.id ? -1 : 1))
          .map((grant) => grant.id);

        const seen: string[] = [];
        let after: Grant | undefined;
        // Bounded, so that a paging bug fails the test instead of looping forever.
        for (let pages = 0; pages <= grants.length; pages += 1) {
          const page = await store.dueGrants(at(60), 2, after && { expiresAt: after.expiresAt, id: after.id });
          if (page.length === 0) break;
          expect(page.length).toBeLessThanOrEqual(2);
          seen.push(...page.map((grant) => grant.id));
          after = page.at(-1);
        }
        expect(seen).toEqual(expected);
      });

      it("leaves out grants still backing off, and brings them back when the backoff has passed", async () => {
        const failing = await begin({ expiresAt: at(10) });
        const other = await begin({ expiresAt: at(11) });
        await store.recordRevokeFailure(failing.id, "DELETE secret: 502", at(15));

        expect(await dueIds(at(12), 10)).toEqual([other.id]);
        expect(await dueIds(at(15), 10)).toEqual([failing.id, other.id]);
      });

      it("includes a grant whose early end is pending once its backoff has passed, before its expiry", async () => {
        const pending = await begin({ expiresAt: at(100) });
        await store.recordRevokeFailure(pending.id, "DELETE secret: 502", at(5), { kind: "revoked", reason: "closed", actor: "alice" });

        expect(await dueIds(at(4), 10)).toEqual([]);
        expect(await dueIds(at(5), 10)).toEqual([pending.id]);
      });

      it("includes a failed grant whose secret is still to be deleted, once its backoff has passed", async () => {
        const failing = await begin({ expiresAt: at(100) });
        await store.markWriting(failing.id);
        await store.recordRevokeFailure(failing.id, "DELETE secret: 502", at(5), {
          kind: "failed",
          reason: "GitHub refused the write",
          actor: "jit-access",
        });

        expect(await dueIds(at(4), 10)).toEqual([]);
        expect(await dueIds(at(5), 10)).toEqual([failing.id]);
        expect((await store.getGrant(failing.id))?.pendingEnd).toEqual({
          kind: "failed",
          reason: "GitHub refused the write",
          actor: "jit-access",
        });
      });

      it.each([0, -1, 1.5, Number.NaN])("rejects the limit %p", async (limit) => {
        const error = await rejectionOf(store.dueGrants(at(0), limit));
        expect(error.message).toContain("dueGrants needs a positive whole limit");
      });
    });

    describe("grantsInPeriod", () => {
      const periodIds = async (from: Date, until: Date, options: { secret?: string; limit?: number } = {}): Promise<string[]> =>
        (
          await store.grantsInPeriod({ from, until, ...(options.secret !== undefined && { secret: options.secret }) }, options.limit ?? 100)
        ).map((g) => g.id);

      it("returns the grants of every state whose life overlaps the period, by creation", async () => {
        const endedBefore = await begin({ createdAt: at(0) });
        await store.markEnded(endedBefore.id, "expired", "expired", at(9));
        const endedAtStart = await begin({ createdAt: at(1) });
        await store.markEnded(endedAtStart.id, "expired", "expired", at(10));
        const spanning = await begin({ createdAt: at(2) });
        await store.markActive(spanning.id, at(2));
        await store.markEnded(spanning.id, "revoked", "closed", at(15));
        const liveFromBefore = await begin({ createdAt: at(3) });
        await store.markActive(liveFromBefore.id, at(3));
        const failed = await begin({ createdAt: at(12) });
        await store.markFailed(failed.id, "GitHub refused the write", at(12));
        const inside = await begin({ createdAt: at(13) });
        const atEnd = await begin({ createdAt: at(20) });

        // The period is [minute 10, minute 20): a grant ended at its start is in it, one written at its end is not.
        expect(await periodIds(at(10), at(20))).toEqual([endedAtStart.id, spanning.id, liveFromBefore.id, failed.id, inside.id]);
        expect(await periodIds(at(0), at(30))).toEqual([
          endedBefore.id,
          endedAtStart.id,
          spanning.id,
          liveFromBefore.id,
          failed.id,
          inside.id,
          atEnd.id,
        ]);
        expect(await periodIds(at(16), at(17))).toEqual([liveFromBefore.id, inside.id]);
        expect(await periodIds(at(30), at(40))).toEqual([liveFromBefore.id, inside.id, atEnd.id]);
      });

      it("narrows to one secret, compared case-insensitively", async () => {
        const db = await begin({ createdAt: at(1) });
        await begin({ createdAt: at(2), secret: "PAYMENTS_KEY" });
        const otherCase = await begin({ createdAt: at(3), secret: "prod_db_url" });

        expect(await periodIds(at(0), at(10), { secret: "Prod_Db_Url" })).toEqual([db.id, otherCase.id]);
        expect(await periodIds(at(0), at(10), { secret: "NONE" })).toEqual([]);
      });

      it("pages by (creation, id) without skipping or repeating grants written together", async () => {
        const grants = await Promise.all(Array.from({ length: 7 }, (_, i) => begin({ createdAt: at(i < 5 ? 1 : 2) })));
        const expected = [...grants]
          .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1))
          .map((grant) => grant.id);

        const seen: string[] = [];
        let after: Grant | undefined;
        // Bounded, so that a paging bug fails the test instead of looping forever.
        for (let pages = 0; pages <= grants.length; pages += 1) {
          const page = await store.grantsInPeriod({ from: at(0), until: at(10) }, 2, after && { createdAt: after.createdAt, id: after.id });
          if (page.length === 0) break;
          expect(page.length).toBeLessThanOrEqual(2);
          seen.push(...page.map((grant) => grant.id));
          after = page.at(-1);
        }
        expect(seen).toEqual(expected);
      });

      it.each([0, -1, 1.5, Number.NaN])("rejects the limit %p", async (limit) => {
        const error = await rejectionOf(store.grantsInPeriod({ from: at(0), until: at(1) }, limit));
        expect(error.message).toContain("grantsInPeriod needs a positive whole limit");
      });
    });

    describe("break-glass grants", () => {
      it("records break-glass, lists those unreviewed, and records the first review only, with its audit record", async () => {
        const plain = await begin();
        expect(plain).toMatchObject({ breakGlass: false, breakGlassReview: null });
        const glass = await begin({ breakGlass: true, approvers: [], createdAt: at(1) });
        const ended = await begin({ breakGlass: true, approvers: [], createdAt: at(2) });
        await store.markEnded(ended.id, "revoked", "done", at(3));
        expect(glass).toMatchObject({ breakGlass: true, breakGlassReview: null, approvers: [] });
        expect((await store.unreviewedBreakGlass()).map((g) => g.id)).toEqual([glass.id, ended.id]);

        const bob = { id: 9, login: "owner-two" };
        const first = await store.recordBreakGlassReview(glass.id, bob, at(4), auditOf("break_glass_reviewed", { at: at(4) }));
        expect(first).toMatchObject({ recorded: true, grant: { id: glass.id, breakGlassReview: { reviewer: bob, at: at(4) } } });
        const again = await store.recordBreakGlassReview(glass.id, { id: 8, login: "owner-one" }, at(5), auditOf("break_glass_reviewed"));
        expect(again).toMatchObject({ recorded: false, grant: { breakGlassReview: { reviewer: bob, at: at(4) } } });
        expect((await store.recordBreakGlassReview(plain.id, bob, at(5))).recorded).toBe(false);
        await store.recordBreakGlassReview(ended.id, bob, at(6));
        expect(await store.unreviewedBreakGlass()).toEqual([]);
        const audit = (await store.listAudit()).filter((a) => a.action === "break_glass_reviewed");
        expect(audit).toEqual([expect.objectContaining({ grantId: glass.id })]);
        expect((await store.getGrant(ended.id))?.breakGlassReview?.reviewer).toEqual(bob);
        await expect(store.recordBreakGlassReview("no-such-grant", bob, at(7))).rejects.toThrow("no grant no-such-grant");
      });
    });

    describe("notification outbox", () => {
      const url = "https://hooks.example.test/jit";
      it("queues notifications due at once, and hands out only those due, oldest first", async () => {
        const [first, second] = await store.enqueueNotifications([
          { url, event: "granted", body: '{"event":"granted"}', createdAt: at(0) },
          { url: "https://other.example.test/", event: "granted", body: '{"event":"granted"}', createdAt: at(0) },
        ]);
        await store.enqueueNotifications([{ url, event: "expired", body: '{"event":"expired"}', createdAt: at(5) }]);
        expect(first).toMatchObject({ url, event: "granted", attempts: 0, deliveredAt: null, abandonedAt: null, lastError: null });
        expect(first!.nextAttemptAt).toEqual(at(0));
        expect((await store.dueNotifications(at(1), 10)).map((n) => n.id).sort()).toEqual([first!.id, second!.id].sort());
        expect(await store.dueNotifications(at(5), 10)).toHaveLength(3);
        expect(await store.dueNotifications(at(5), 1)).toHaveLength(1);
      });

      it("a failed attempt backs off, a delivery ends it, and a given-up one is never due again", async () => {
        const [a, b] = await store.enqueueNotifications([
          { url, event: "granted", body: "{}", createdAt: at(0) },
          { url, event: "revoked", body: "{}", createdAt: at(0) },
        ]);
        const failed = await store.recordNotificationFailure(a!.id, "connect ECONNREFUSED", at(0), at(2));
        expect(failed).toMatchObject({ attempts: 1, lastError: "connect ECONNREFUSED", abandonedAt: null });
        expect((await store.dueNotifications(at(1), 10)).map((n) => n.id)).toEqual([b!.id]);
        expect((await store.dueNotifications(at(2), 10)).map((n) => n.id).sort()).toEqual([a!.id, b!.id].sort());
        await store.recordNotificationDelivered(a!.id, at(2));
        const abandoned = await store.recordNotificationFailure(b!.id, "HTTP 500", at(3), null);
        expect(abandoned.abandonedAt).toEqual(at(3));
        expect(await store.dueNotifications(at(100), 10)).toEqual([]);
        // A delivered notification stays delivered.
        const late = await store.recordNotificationFailure(a!.id, "late", at(4), at(5));
        expect(late).toMatchObject({ attempts: 1, deliveredAt: at(2) });
        expect((await store.listNotifications()).map((n) => n.event).sort()).toEqual(["granted", "revoked"]);
        expect(await store.listNotifications(at(1))).toEqual([]);
      });

      it("refuses a URL that is not http(s) and writes nothing", async () => {
        await expect(
          store.enqueueNotifications([{ url: "file:///etc/passwd", event: "granted", body: "{}", createdAt: at(0) }]),
        ).rejects.toThrow("must be http(s)");
        expect(await store.listNotifications()).toEqual([]);
      });
    });

    describe("request heads", () => {
      const head = { installationId: 4242, owner: "acme", repo: "api", prNumber: 12, headSha: "b".repeat(40) };
      it("keeps the first evaluation, finds heads whose time is up, and settles each once", async () => {
        const first = await store.recordRequestHead({ ...head, firstEvaluatedAt: at(0), ttlMs: 60 * 60_000 });
        expect(first).toMatchObject({ ...head, ttlMs: 3_600_000, lapsedAt: null, approvedAt: null });
        expect(first.lapsesAt).toEqual(at(60));
        const again = await store.recordRequestHead({ ...head, owner: "ACME", firstEvaluatedAt: at(30), ttlMs: 60_000 });
        expect(again.firstEvaluatedAt).toEqual(at(0));
        expect(await store.getRequestHead({ ...head, repo: "API" })).toEqual(first);
        expect(await store.lapsingRequestHeads(at(59), 10)).toEqual([]);
        expect(await store.lapsingRequestHeads(at(60), 10)).toEqual([first]);
        const lapsed = await store.settleRequestHead(head, "lapsed", at(61));
        expect(lapsed).toMatchObject({ settled: true, head: { lapsedAt: at(61), approvedAt: null } });
        expect(await store.settleRequestHead(head, "approved", at(62))).toMatchObject({ settled: false, head: { approvedAt: null } });
        expect(await store.lapsingRequestHeads(at(100), 10)).toEqual([]);
        expect(await store.settleRequestHead({ ...head, headSha: "c".repeat(40) }, "lapsed", at(1))).toBeNull();
      });

      it("an approved head never lapses", async () => {
        await store.recordRequestHead({ ...head, firstEvaluatedAt: at(0), ttlMs: 60_000 });
        expect(await store.settleRequestHead(head, "approved", at(0))).toMatchObject({ settled: true });
        expect(await store.lapsingRequestHeads(at(10), 10)).toEqual([]);
        expect(await store.settleRequestHead(head, "lapsed", at(10))).toMatchObject({ settled: false, head: { lapsedAt: null } });
      });
    });

    describe("gate decisions", () => {
      const keyOf = (decision: NewGateDecision) => ({
        runId: decision.runId,
        runAttempt: decision.runAttempt,
        environment: decision.environment,
      });

      it("records a decision with every field, reads it back by run, attempt and environment, and has no answer yet", async () => {
        const grant = await begin();
        const input = newGateDecision({
          state: "approved",
          reason: "requester",
          grantId: grant.id,
          actor: { id: 7, login: "requester" },
          triggeringActor: { id: 7, login: "requester" },
        });
        const { decision, created } = await store.recordGateDecision(input);
        expect(created).toBe(true);
        const expected: GateDecision = { ...input, answer: null };
        expect(decision).toEqual(expected);
        expect(await store.getGateDecision(keyOf(input))).toEqual(expected);
        expect(await store.getGateDecision({ ...keyOf(input), runAttempt: 2 })).toBeNull();
        expect(await store.getGateDecision({ ...keyOf(input), environment: "staging" })).toBeNull();
      });

      it("stores a null ref, and keeps only id and login of people", async () => {
        const actor = { id: 66, login: "mallory", email: "m@example.com" } as NewGateDecision["actor"];
        const { decision } = await store.recordGateDecision(newGateDecision({ ref: null, actor }));
        expect(decision.ref).toBeNull();
        expect(decision.actor).toEqual({ id: 66, login: "mallory" });
      });

      it("records a rejection for a run GitHub did not say who started", async () => {
        const input = newGateDecision({ reason: "unknown-actor", triggeringActor: null });
        const { decision } = await store.recordGateDecision(input);
        expect(decision.triggeringActor).toBeNull();
        expect(await store.getGateDecision(keyOf(input))).toEqual({ ...input, answer: null });
      });

      it("keeps the first decision for a run attempt and environment: a second writes nothing, not even its audit record", async () => {
        const first = newGateDecision();
        await store.recordGateDecision(first, {
          at: at(6),
          action: "gate_rejected",
          actor: "jit-access",
          owner: "acme",
          repo: "api",
          environment: "production",
          details: { runId: first.runId },
        });
        const grant = await begin();
        const second = { ...first, state: "approved" as const, reason: "requester", grantId: grant.id, decidedAt: at(9) };
        const again = await store.recordGateDecision(second, {
          at: at(9),
          action: "gate_approved",
          actor: "jit-access",
          owner: "acme",
          repo: "api",
        });
        expect(again.created).toBe(false);
        expect(again.decision).toEqual({ ...first, answer: null });
        // Environment names compare case-insensitively, as GitHub's do.
        expect((await store.recordGateDecision({ ...first, environment: "PRODUCTION" })).created).toBe(false);
        expect((await store.listAudit()).map((event) => event.action)).toEqual(["gate_rejected"]);
      });

      it("decides each attempt and each environment of a run on its own", async () => {
        const first = newGateDecision();
        const rerun = { ...first, runAttempt: 2, triggeringActor: { id: 7, login: "requester" } };
        const staging = { ...first, environment: "staging" };
        for (const decision of [first, rerun, staging]) expect((await store.recordGateDecision(decision)).created).toBe(true);
        expect((await store.getGateDecision(keyOf(rerun)))?.triggeringActor?.login).toBe("requester");
      });

      it("writes the decision and its audit record together: an audit record that cannot be written leaves no decision", async () => {
        const decision = newGateDecision();
        await rejectionOf(
          store.recordGateDecision(decision, {
            at: at(6),
            action: "gate_rejected",
            actor: "jit-access",
            owner: "acme",
            repo: "api",
            grantId: "no-such-grant",
          }),
        );
        expect(await store.getGateDecision(keyOf(decision))).toBeNull();
        expect(await store.listAudit()).toEqual([]);
      });

      it.each<[string, Partial<NewGateDecision>, string]>([
        ["a run id that is not a positive whole number", { runId: 0 }, "runId must be a positive whole number"],
        ["an attempt that is not a positive whole number", { runAttempt: 1.5 }, "runAttempt must be a positive whole number"],
        ["an empty environment", { environment: "" }, "environment is empty"],
        ["an unknown state", { state: "maybe" as NewGateDecision["state"] }, "state is approved or rejected"],
        ["an approval without its grant", { state: "approved", grantId: null }, "names the grant"],
        ["a comment over GitHub's 1,024 characters", { comment: "x".repeat(1025) }, "at most 1024 characters"],
        ["an invalid time", { runStartedAt: new Date(Number.NaN) }, "runStartedAt is not a valid date"],
        ["an empty reason", { reason: " " }, "says why"],
        ["an approval without its actor", { state: "approved", grantId: "g", actor: null }, "names its actor"],
      ])("refuses %s and writes nothing", async (_name, overrides, message) => {
        const decision = newGateDecision(overrides);
        await expect(store.recordGateDecision(decision)).rejects.toThrow(message);
        expect(await store.getGateDecision({ ...keyOf(decision), environment: decision.environment || "production" })).toBeNull();
      });

      it("refuses an approval naming a grant the ledger does not have", async () => {
        const decision = newGateDecision({ state: "approved", reason: "requester", grantId: "no-such-grant" });
        await rejectionOf(store.recordGateDecision(decision));
        expect(await store.getGateDecision(keyOf(decision))).toBeNull();
      });

      it("records GitHub's reply once: a second answer writes nothing and reads back the first", async () => {
        const decision = newGateDecision();
        await store.recordGateDecision(decision);
        const answered = await store.recordGateAnswer(keyOf(decision), { outcome: "accepted", answeredAt: at(7) });
        expect(answered).toEqual({ ...decision, answer: { outcome: "accepted", answeredAt: at(7) } });
        const again = await store.recordGateAnswer(
          { ...keyOf(decision), environment: "Production" },
          { outcome: "refused", answeredAt: at(8) },
        );
        expect(again.answer).toEqual({ outcome: "accepted", answeredAt: at(7) });
        expect((await store.getGateDecision(keyOf(decision)))?.answer).toEqual({ outcome: "accepted", answeredAt: at(7) });
      });

      it("refuses an answer without a decision, or with an unknown outcome", async () => {
        const decision = newGateDecision();
        await expect(store.recordGateAnswer(keyOf(decision), { outcome: "accepted", answeredAt: at(7) })).rejects.toThrow(
          "no gate decision is recorded",
        );
        await store.recordGateDecision(decision);
        await expect(store.recordGateAnswer(keyOf(decision), { outcome: "maybe" as "accepted", answeredAt: at(7) })).rejects.toThrow(
          "accepted or refused",
        );
        expect((await store.getGateDecision(keyOf(decision)))?.answer).toBeNull();
      });
    });

    describe("audit", () => {
      it("appends records and lists them in order, optionally since a time", async () => {
        const grant = await begin();
        await store.appendAudit({ at: at(0), action: "validated", actor: "requester", owner: "acme", repo: "api", prNumber: 12 });
        await store.appendAudit({
          at: at(1),
          action: "granted",
          actor: "jit-access",
          owner: "acme",
          repo: "api",
          prNumber: 12,
          grantId: grant.id,
          environment: "production",
          secret: "PROD_DB_URL",
          details: { approvers: ["owner-one", "owner-two"], expiresAt: at(120).toISOString(), nested: { n: 1 } },
        });
        await store.appendAudit({ at: at(2), action: "reconciled", actor: "operator:alice", owner: "acme", repo: "web" });

        const all = await store.listAudit();
        const chain = { prevHash: expect.stringMatching(HEX64), hash: expect.stringMatching(HEX64) };
        expect(all).toEqual([
          { seq: 1, at: at(0), action: "validated", actor: "requester", owner: "acme", repo: "api", prNumber: 12, ...chain },
          {
            seq: 2,
            at: at(1),
            action: "granted",
            actor: "jit-access",
            owner: "acme",
            repo: "api",
            prNumber: 12,
            grantId: grant.id,
            environment: "production",
            secret: "PROD_DB_URL",
            details: { approvers: ["owner-one", "owner-two"], expiresAt: at(120).toISOString(), nested: { n: 1 } },
            ...chain,
          },
          { seq: 3, at: at(2), action: "reconciled", actor: "operator:alice", owner: "acme", repo: "web", ...chain },
        ]);
        expect((await store.listAudit({ since: at(1) })).map((event) => event.seq)).toEqual([2, 3]);
        expect(await store.listAudit({ since: at(3) })).toEqual([]);
      });

      it("chains the records: each holds the previous one's hash and its own, in the shared encoding", async () => {
        const grant = await begin();
        const inputs: AuditInput[] = [
          { at: at(0), action: "validated", actor: "requester", owner: "acme", repo: "api", prNumber: 12 },
          { ...auditOf("granted"), grantId: grant.id, details: { when: at(3), skipped: undefined, list: [1, "two"] } },
          { at: at(2), action: "reconciled", actor: "operator:alice", owner: "acme", repo: "web", details: {} },
        ];
        for (const input of inputs) await store.appendAudit(input);

        const records = await store.listAudit();
        expect(records.map((record) => record.prevHash)).toEqual([GENESIS_HASH, records[0]!.hash, records[1]!.hash]);
        records.forEach((record, index) => {
          expect(record.hash).toBe(auditHash(record.seq, record.prevHash, inputs[index]!));
        });
        // Details read back as JSON would carry them: a date as its ISO text, undefined members gone.
        expect(records[1]!.details).toEqual({ when: at(3).toISOString(), list: [1, "two"] });
        expect(records[2]!.details).toEqual({});
        expect(new Set(records.map((record) => record.hash)).size).toBe(3);
      });

      it("verifyAudit counts an intact chain and names its head", async () => {
        expect(await store.verifyAudit()).toEqual({ ok: true, count: 0, lastSeq: null, lastHash: GENESIS_HASH });
        const grant = await begin();
        await store.appendAudit(auditOf("validated"));
        await store.markActive(grant.id, at(1), auditOf("granted"));
        await store.markEnded(grant.id, "expired", "expired", at(2), auditOf("expired"));
        const last = (await store.listAudit()).at(-1)!;
        expect(await store.verifyAudit()).toEqual({ ok: true, count: 3, lastSeq: 3, lastHash: last.hash });
      });

      it("refuses a record that points at a grant the ledger does not have", async () => {
        await rejectionOf(
          store.appendAudit({ at: at(0), action: "granted", actor: "jit-access", owner: "acme", repo: "api", grantId: "nope" }),
        );
        expect(await store.listAudit()).toEqual([]);
        expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 0 });
      });

      it("refuses a record with an invalid time, and the chain goes on intact", async () => {
        await store.appendAudit(auditOf("validated"));
        await expect(store.appendAudit(auditOf("validated", { at: new Date(Number.NaN) }))).rejects.toThrow("at is not a valid date");
        await store.appendAudit(auditOf("approved"));
        expect((await store.listAudit()).map((event) => event.seq)).toEqual([1, 2]);
        expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 2 });
      });

      it("lists a page after a seq: at most limit records, with since as well", async () => {
        for (let minute = 0; minute < 5; minute += 1) await store.appendAudit(auditOf("validated", { at: at(minute) }));

        expect((await store.listAudit({ afterSeq: 0, limit: 2 })).map((event) => event.seq)).toEqual([1, 2]);
        expect((await store.listAudit({ afterSeq: 2, limit: 2 })).map((event) => event.seq)).toEqual([3, 4]);
        expect((await store.listAudit({ afterSeq: 4, limit: 2 })).map((event) => event.seq)).toEqual([5]);
        expect(await store.listAudit({ afterSeq: 5, limit: 2 })).toEqual([]);
        expect((await store.listAudit({ afterSeq: 3 })).map((event) => event.seq)).toEqual([4, 5]);
        expect((await store.listAudit({ since: at(3), afterSeq: 0, limit: 1 })).map((event) => event.seq)).toEqual([4]);
        expect((await store.listAudit({ since: at(1), afterSeq: 3, limit: 10 })).map((event) => event.seq)).toEqual([4, 5]);
      });

      it.each([
        [{ limit: 0 }, "limit must be a positive whole number"],
        [{ limit: 1.5 }, "limit must be a positive whole number"],
        [{ afterSeq: -1 }, "afterSeq must be a whole number"],
      ])("refuses a page of %p", async (query, message) => {
        await expect(store.listAudit(query)).rejects.toThrow(message);
      });
    });

    describe("webhook inbox", () => {
      const delivery = (id: string, minute = 0, payload: object = { action: "opened", number: 1 }) => ({
        id,
        event: "pull_request",
        payload: JSON.stringify(payload),
        receivedAt: at(minute),
      });
      const claim = (owner: string, minute: number, overrides: { limit?: number; maxAttempts?: number; leaseMs?: number } = {}) =>
        store.claimDeliveries({ owner, now: at(minute), leaseMs: 60_000, limit: 10, maxAttempts: 3, ...overrides });

      it("records a delivery once: the same id again writes nothing", async () => {
        expect(await store.recordDelivery(delivery("d-1"))).toEqual({ created: true });
        expect(await store.recordDelivery({ ...delivery("d-1", 5, { other: true }), event: "ping" })).toEqual({ created: false });
        expect(await store.getDelivery("d-1")).toMatchObject({
          id: "d-1",
          event: "pull_request",
          payload: JSON.stringify({ action: "opened", number: 1 }),
          state: "pending",
          attempts: 0,
          receivedAt: at(0),
          nextAttemptAt: at(0),
          claimedBy: null,
        });
        expect(await store.countDeliveries()).toEqual({ pending: 1, done: 0, dead: 0 });
      });

      it("refuses a payload that is not a JSON object, or over 25 MiB, and records nothing", async () => {
        await expect(store.recordDelivery({ ...delivery("d-1"), payload: "[1]" })).rejects.toThrow("not a JSON object");
        await expect(store.recordDelivery({ ...delivery("d-2"), payload: "{" })).rejects.toThrow("not JSON");
        const big = JSON.stringify({ pad: "x".repeat(25 * 1024 * 1024) });
        await expect(store.recordDelivery({ ...delivery("d-3"), payload: big })).rejects.toThrow("the inbox keeps at most");
        await expect(store.recordDelivery({ ...delivery(""), payload: "{}" })).rejects.toThrow("delivery id");
        expect(await store.countDeliveries()).toEqual({ pending: 0, done: 0, dead: 0 });
      });

      it("records a batch of deliveries in one call, each as recordDelivery would, an id given twice once", async () => {
        await store.recordDelivery(delivery("d-0"));
        expect(
          await store.recordDeliveries([
            delivery("d-1", 1),
            delivery("d-0", 1, { other: true }),
            delivery("d-2", 2),
            { ...delivery("d-1", 3, { copy: true }), event: "ping" },
          ]),
        ).toEqual([{ created: true }, { created: false }, { created: true }, { created: false }]);
        expect(await store.getDelivery("d-0")).toMatchObject({
          payload: JSON.stringify({ action: "opened", number: 1 }),
          receivedAt: at(0),
        });
        expect(await store.getDelivery("d-1")).toMatchObject({
          event: "pull_request",
          payload: JSON.stringify({ action: "opened", number: 1 }),
          receivedAt: at(1),
          state: "pending",
        });
        expect(await store.countDeliveries()).toEqual({ pending: 3, done: 0, dead: 0 });
        expect(await store.recordDeliveries([])).toEqual([]);
      });

      it("makes a dead entry pending again when a batch records it again, once", async () => {
        await store.recordDelivery(delivery("d-1"));
        await claim("replica-a", 0);
        await store.failDelivery("d-1", "replica-a", "broken", at(1), null);
        expect(await store.recordDeliveries([delivery("d-1", 30), delivery("d-1", 30)])).toEqual([{ created: true }, { created: false }]);
        expect(await store.getDelivery("d-1")).toMatchObject({ state: "pending", attempts: 0, nextAttemptAt: at(30) });
      });

      it("refuses a whole batch when one delivery in it is refused, and records none of it", async () => {
        await expect(store.recordDeliveries([delivery("d-1"), { ...delivery("d-2"), payload: "[1]" }, delivery("d-3")])).rejects.toThrow(
          "not a JSON object",
        );
        await expect(store.recordDeliveries([delivery("d-1"), delivery("")])).rejects.toThrow("delivery id");
        expect(await store.countDeliveries()).toEqual({ pending: 0, done: 0, dead: 0 });
      });

      it("lets one owner at a time claim an entry, oldest first, and counts each claim as an attempt", async () => {
        await store.recordDelivery(delivery("d-2", 1));
        await store.recordDelivery(delivery("d-1", 0));
        await store.recordDelivery(delivery("d-3", 2));
        const first = await claim("replica-a", 2, { limit: 2 });
        expect(first.map((entry) => entry.id)).toEqual(["d-1", "d-2"]);
        expect(first[0]).toMatchObject({ claimedBy: "replica-a", claimExpiresAt: new Date(at(2).getTime() + 60_000), attempts: 1 });
        expect((await claim("replica-b", 2)).map((entry) => entry.id)).toEqual(["d-3"]);
        expect(await claim("replica-c", 2)).toEqual([]);
      });

      it("does not claim an entry recorded after now", async () => {
        await store.recordDelivery(delivery("d-1", 5));
        expect(await claim("replica-a", 4)).toEqual([]);
        expect(await claim("replica-a", 5)).toHaveLength(1);
      });

      it("marks an entry done only for the owner that holds it", async () => {
        await store.recordDelivery(delivery("d-1"));
        await claim("replica-a", 0);
        expect(await store.completeDelivery("d-1", "replica-b", at(1))).toBe(false);
        expect(await store.completeDelivery("d-1", "replica-a", at(1))).toBe(true);
        expect(await store.getDelivery("d-1")).toMatchObject({ state: "done", finishedAt: at(1), claimedBy: null });
        expect(await store.completeDelivery("d-1", "replica-a", at(2))).toBe(false);
        expect(await claim("replica-a", 10)).toEqual([]);
      });

      it("lets another owner claim an entry whose lease ran out; the first owner can no longer finish it", async () => {
        await store.recordDelivery(delivery("d-1"));
        await claim("replica-a", 0);
        expect(await claim("replica-b", 0.5)).toEqual([]);
        expect(await claim("replica-b", 1)).toMatchObject([{ id: "d-1", claimedBy: "replica-b", attempts: 2 }]);
        expect(await store.completeDelivery("d-1", "replica-a", at(1))).toBe(false);
        expect(await store.failDelivery("d-1", "replica-a", "late", at(1), at(2))).toBe(false);
        expect(await store.completeDelivery("d-1", "replica-b", at(1))).toBe(true);
      });

      it("retries a failed entry from its retry time, keeping the error", async () => {
        await store.recordDelivery(delivery("d-1"));
        await claim("replica-a", 0);
        expect(await store.failDelivery("d-1", "replica-a", "GitHub answered 502", at(0), at(5))).toBe(true);
        expect(await store.getDelivery("d-1")).toMatchObject({ state: "pending", lastError: "GitHub answered 502", nextAttemptAt: at(5) });
        expect(await claim("replica-b", 4)).toEqual([]);
        expect(await claim("replica-b", 5)).toMatchObject([{ id: "d-1", attempts: 2 }]);
      });

      it("keeps an entry given up as dead, with its error, and lists it", async () => {
        await store.recordDelivery(delivery("d-1"));
        await claim("replica-a", 0);
        expect(await store.failDelivery("d-1", "replica-a", "x".repeat(5000), at(1), null)).toBe(true);
        const [dead] = await store.listDeliveries("dead", 10);
        expect(dead).toMatchObject({ id: "d-1", state: "dead", finishedAt: at(1) });
        expect(dead!.lastError!.length).toBeLessThan(2100);
        expect(await claim("replica-a", 100)).toEqual([]);
        expect(await store.pruneDeliveries(at(1000))).toBe(0);
        expect(await store.countDeliveries()).toEqual({ pending: 0, done: 0, dead: 1 });
      });

      it("marks dead an entry whose process stopped during each of maxAttempts claims", async () => {
        await store.recordDelivery(delivery("d-1"));
        for (let minute = 0; minute < 3; minute += 1) expect(await claim(`replica-${minute}`, minute * 2)).toHaveLength(1);
        expect(await claim("replica-z", 10)).toEqual([]);
        expect(await store.getDelivery("d-1")).toMatchObject({ state: "dead", attempts: 3, finishedAt: at(10) });
        expect((await store.getDelivery("d-1"))!.lastError).toContain("stopped before it finished, 3 times");
      });

      it("gives back an owner's claims, without counting their attempt", async () => {
        await store.recordDelivery(delivery("d-1"));
        await store.recordDelivery(delivery("d-2"));
        await claim("replica-a", 0);
        expect(await store.releaseDeliveries("replica-a")).toBe(2);
        expect(await claim("replica-b", 0)).toMatchObject([
          { id: "d-1", attempts: 1 },
          { id: "d-2", attempts: 1 },
        ]);
      });

      it("deletes processed entries finished before the retention limit, and only those", async () => {
        for (const id of ["d-1", "d-2", "d-3"]) await store.recordDelivery(delivery(id));
        await claim("replica-a", 0);
        await store.completeDelivery("d-1", "replica-a", at(1));
        await store.completeDelivery("d-2", "replica-a", at(3));
        expect(await store.pruneDeliveries(at(2))).toBe(1);
        expect(await store.getDelivery("d-1")).toBeNull();
        expect(await store.getDelivery("d-2")).toMatchObject({ state: "done" });
        expect(await store.getDelivery("d-3")).toMatchObject({ state: "pending" });
      });

      it("makes a dead entry pending again when the same delivery is recorded again (a redelivery after a fix)", async () => {
        await store.recordDelivery(delivery("d-1"));
        await claim("replica-a", 0);
        await store.failDelivery("d-1", "replica-a", "broken", at(1), null);
        expect(await store.recordDelivery(delivery("d-1", 30))).toEqual({ created: true });
        expect(await store.getDelivery("d-1")).toMatchObject({ state: "pending", attempts: 0, nextAttemptAt: at(30), finishedAt: null });
        expect(await claim("replica-b", 30)).toMatchObject([{ id: "d-1", attempts: 1 }]);
      });

      it("records a redelivery request once per delivery guid", async () => {
        expect(await store.recordRedelivery("guid-1", 17, at(0))).toBe(true);
        expect(await store.recordRedelivery("guid-1", 18, at(1))).toBe(false);
        expect(await store.recordRedelivery("guid-2", 18, at(1))).toBe(true);
      });
    });

    describe("audit archive", () => {
      /** Records 1–4 at minutes 0, 1, 2 and 3. */
      async function fourRecords(): Promise<string[]> {
        for (let minute = 0; minute < 4; minute += 1)
          await store.appendAudit(auditOf("validated", { at: at(minute), actor: `user-${minute}` }));
        return (await store.listAudit()).map((event) => event.hash);
      }
      const archivedRecord = (overrides: Partial<AuditInput> = {}): AuditInput => ({
        at: at(10),
        action: "archived",
        actor: "operator:dana",
        owner: "",
        repo: "",
        details: { file: "/var/backups/audit.jsonl" },
        ...overrides,
      });

      it("plans nothing when no record is before the instant", async () => {
        expect(await store.planAuditArchive(at(5))).toBeNull();
        await fourRecords();
        expect(await store.planAuditArchive(at(0))).toBeNull();
        expect(await store.listAuditArchives()).toEqual([]);
      });

      it("plans the records before the instant: from the chain's start to the last of them, with their hashes", async () => {
        const hashes = await fourRecords();
        expect(await store.planAuditArchive(at(2))).toEqual({
          firstSeq: 1,
          lastSeq: 2,
          count: 2,
          prevHash: GENESIS_HASH,
          headHash: hashes[1],
          before: at(2),
        });
        expect(await store.planAuditArchive(at(9))).toMatchObject({ firstSeq: 1, lastSeq: 4, count: 4, headHash: hashes[3] });
      });

      it("stops the cut at the first record at or after the instant, even when a later one is older (a clock stepped back)", async () => {
        await store.appendAudit(auditOf("validated", { at: at(0) }));
        await store.appendAudit(auditOf("validated", { at: at(5) }));
        await store.appendAudit(auditOf("validated", { at: at(1) }));
        expect(await store.planAuditArchive(at(3))).toMatchObject({ firstSeq: 1, lastSeq: 1, count: 1 });
      });

      it("removes the cut, records it and appends its record, which chains from the records left", async () => {
        const hashes = await fourRecords();
        const plan = (await store.planAuditArchive(at(2)))!;

        const archive = await store.archiveAudit(plan, at(10), archivedRecord());

        expect(archive).toEqual({ ...plan, archivedAt: at(10) });
        expect(await store.listAuditArchives()).toEqual([archive]);
        const left = await store.listAudit();
        expect(left.map((event) => [event.seq, event.action])).toEqual([
          [3, "validated"],
          [4, "validated"],
          [5, "archived"],
        ]);
        expect(left[0]!.prevHash).toBe(hashes[1]);
        expect(left[2]).toMatchObject({
          prevHash: hashes[3],
          actor: "operator:dana",
          owner: "",
          repo: "",
          details: { file: "/var/backups/audit.jsonl" },
        });
        expect(await store.verifyAudit()).toEqual({ ok: true, count: 3, lastSeq: 5, lastHash: left[2]!.hash });
        expect(await store.planAuditArchive(at(2))).toBeNull();
      });

      it("goes on from the last cut when it took every record: the next record and the next cut chain from it", async () => {
        const hashes = await fourRecords();
        const first = await store.archiveAudit((await store.planAuditArchive(at(9)))!, at(10), archivedRecord());
        expect(first).toMatchObject({ firstSeq: 1, lastSeq: 4, headHash: hashes[3] });
        await store.appendAudit(auditOf("approved", { at: at(11) }));

        const second = (await store.planAuditArchive(at(12)))!;
        expect(second).toMatchObject({ firstSeq: 5, lastSeq: 6, count: 2, prevHash: hashes[3] });
        await store.archiveAudit(second, at(12), archivedRecord({ at: at(12) }));

        expect(await store.listAuditArchives()).toEqual([
          first,
          expect.objectContaining({ firstSeq: 5, lastSeq: 6, prevHash: first.headHash }),
        ]);
        const left = await store.listAudit();
        expect(left).toEqual([expect.objectContaining({ seq: 7, action: "archived", prevHash: second.headHash })]);
        expect(await store.verifyAudit()).toEqual({ ok: true, count: 1, lastSeq: 7, lastHash: left[0]!.hash });
        await store.appendAudit(auditOf("validated", { at: at(13) }));
        expect((await store.listAudit()).at(-1)).toMatchObject({ seq: 8, prevHash: left[0]!.hash });
      });

      it("refuses a plan the ledger no longer matches, and changes nothing", async () => {
        await fourRecords();
        const stale = (await store.planAuditArchive(at(2)))!;
        await store.archiveAudit((await store.planAuditArchive(at(1)))!, at(10), archivedRecord());
        const before = await store.listAudit();

        await expect(store.archiveAudit(stale, at(11), archivedRecord())).rejects.toThrow(
          "the audit log changed since the archive was planned",
        );
        await expect(
          store.archiveAudit(
            { ...stale, firstSeq: 2, prevHash: before[0]!.prevHash, count: 1, headHash: "f".repeat(64) },
            at(11),
            archivedRecord(),
          ),
        ).rejects.toThrow("are not the ones the archive holds");

        expect(await store.listAudit()).toEqual(before);
        expect(await store.listAuditArchives()).toHaveLength(1);
      });

      it("removes nothing when its record cannot be written", async () => {
        await fourRecords();
        const plan = (await store.planAuditArchive(at(2)))!;

        await rejectionOf(store.archiveAudit(plan, at(10), archivedRecord({ at: new Date(Number.NaN) })));

        expect(await store.listAudit()).toHaveLength(4);
        expect(await store.listAuditArchives()).toEqual([]);
      });

      it.each<[string, (plan: AuditArchivePlan) => AuditArchivePlan, string]>([
        ["no records", (plan) => ({ ...plan, count: 0 }), "0 records cannot be records 1 to 2"],
        ["more records than seqs", (plan) => ({ ...plan, count: 3 }), "3 records cannot be records 1 to 2"],
        ["a range backwards", (plan) => ({ ...plan, lastSeq: 0 }), "are not a range of seqs"],
        ["a malformed hash", (plan) => ({ ...plan, headHash: "abc" }), "must be 64 lower-case hex digits"],
      ])("refuses a plan with %s", async (_, change, message) => {
        await fourRecords();
        const plan = (await store.planAuditArchive(at(2)))!;
        await expect(store.archiveAudit(change(plan), at(10), archivedRecord())).rejects.toThrow(message);
        expect(await store.listAudit()).toHaveLength(4);
      });
    });
  });
}
