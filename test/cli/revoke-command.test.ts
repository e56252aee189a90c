import { describe, expect, it } from "@jest/globals";
import nock from "nock";
import { LABELS } from "../../src/revoke/revoke-grant.js";
import { cliHarnessPerTest, mockRevocation, type CliHarness } from "../helpers/cli-harness.js";
import { seedGrant } from "../helpers/grant-fixture.js";
import { GitHubMock, type CommentBody } from "../helpers/github-nock.js";
import { mockInstallationToken } from "../helpers/reconcile-nock.js";
import { EXPIRY_START } from "../helpers/revocation-deps.js";
import { recordUnmatchedRequests } from "../helpers/unmatched-requests.js";

const HOUR = 3_600_000;
const AN_HOUR_LEFT = { createdAt: new Date(EXPIRY_START - HOUR) };

let cli: CliHarness;
let unmatched: ReturnType<typeof recordUnmatchedRequests>;
cliHarnessPerTest((harness, recorder) => {
  cli = harness;
  unmatched = recorder;
});

describe("jit-access revoke", () => {
  it("ends the grant now: secret deleted, ledger revoked with the reason, audit actor operator:NAME, PR told", async () => {
    const grant = await seedGrant(cli.store, AN_HOUR_LEFT);
    const gh = mockRevocation();

    const result = await cli.run(["revoke", grant.id, "--reason", "value pasted in a ticket", "--actor", "erin"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toEqual([
      `revoked grant ${grant.id} (PROD_DB_URL in acme/api environment production, PR #7); the secret was deleted`,
    ]);
    expect(await cli.store.getGrant(grant.id)).toMatchObject({
      state: "revoked",
      endReason: "value pasted in a ticket",
      endedAt: new Date(EXPIRY_START),
    });
    expect((await cli.store.listAudit()).at(-1)).toMatchObject({ action: "revoked", actor: "operator:erin", grantId: grant.id });
    expect(gh.body<CommentBody>("/issues/7/comments").body).toContain(
      "**Access revoked:** `PROD_DB_URL` in environment `production` (`value pasted in a ticket`)",
    );
    expect(gh.bodies("/issues/7/labels")).toEqual([{ labels: [LABELS.revoked] }]);
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it.each([
    [{ USER: "dana" }, "operator:dana"],
    [{ USER: undefined }, "operator:cli"],
  ])("names the operator from $USER without --actor (%p)", async (change, actor) => {
    const grant = await seedGrant(cli.store, AN_HOUR_LEFT);
    mockRevocation();

    expect((await cli.run(["revoke", grant.id, "--reason", "done early"], { ...cli.env, ...change })).code).toBe(0);
    expect((await cli.store.listAudit()).at(-1)?.actor).toBe(actor);
  });

  it("keeps the secret when another live grant still uses it, and says so", async () => {
    const grant = await seedGrant(cli.store, AN_HOUR_LEFT);
    await seedGrant(cli.store, { ...AN_HOUR_LEFT, prNumber: 9 });
    mockInstallationToken(42);
    new GitHubMock("acme", "api").comment(7).setLabels(7);

    const result = await cli.run(["revoke", grant.id, "--reason", "not needed"]);

    expect(result.code).toBe(0);
    expect(result.stdout[0]).toMatch(/; the secret stays: 1 other live grant still uses it$/);
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("exits 1 for an unknown grant id, naming the command that lists them", async () => {
    const result = await cli.run(["revoke", "no-such-grant", "--reason", "cleanup"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toEqual([
      `jit-access revoke: no grant with id "no-such-grant" in the ledger; "jit-access grants --all" lists them`,
    ]);
    expect(unmatched.requests).toEqual([]);
  });

  it("exits 1 for a grant that already ended, saying its state", async () => {
    const grant = await seedGrant(cli.store, AN_HOUR_LEFT, "expired");

    const result = await cli.run(["revoke", grant.id, "--reason", "cleanup"]);

    expect(result.code).toBe(1);
    expect(result.stderr[0]).toMatch(
      new RegExp(`^jit-access revoke: grant ${grant.id} .* is already expired since .*; nothing to revoke$`),
    );
    expect(unmatched.requests).toEqual([]);
  });

  it("exits 1 when the DELETE fails: the grant stays live and the sweep will retry it", async () => {
    const grant = await seedGrant(cli.store, AN_HOUR_LEFT);
    mockRevocation(500);

    const result = await cli.run(["revoke", grant.id, "--reason", "cleanup"]);

    expect(result.code).toBe(1);
    expect(result.stdout).toEqual([]);
    const message = result.stderr.find((line) => line.startsWith("jit-access revoke:"));
    expect(message).toMatch(
      /could not delete PROD_DB_URL from acme\/api environment production: .+\. The grant stays live and its revocation pending: the sweep retries it from 2026-03-01T10:00:05\.000Z/,
    );
    expect(await cli.store.getGrant(grant.id)).toMatchObject({ state: "active", revokeAttempts: 1, pendingEnd: { kind: "revoked" } });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it.each([
    [["revoke", "some-id"], "--reason is required"],
    [["revoke", "some-id", "--reason", "   "], "--reason is required"],
    [["revoke", "--reason", "x"], "give the id of the grant to revoke"],
    [["revoke", "a", "b", "--reason", "x"], "give exactly one grant id"],
    [["revoke", "some-id", "--reason", "x", "--actor", ""], "--actor is empty"],
    [["revoke", "some-id", "--reason"], "argument missing"],
  ])("exits 2 with the usage for %p", async (args, message) => {
    const result = await cli.run(args);

    expect(result.code).toBe(2);
    expect(result.stderr[0]).toContain(message);
    expect(result.stderr[1]).toMatch(/^usage: jit-access revoke GRANT_ID --reason TEXT/);
    expect(unmatched.requests).toEqual([]);
  });
});
