import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { sweepOnce } from "../../src/revoke/sweep.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import { requestKey } from "../../src/grant/grant-requests.js";
import { grantFixture } from "../helpers/grant-fixture.js";
import { GitHubMock, type CommentBody } from "../helpers/github-nock.js";
import { startHarness, type Harness } from "../helpers/app-harness.js";

const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe("write-ahead ledger", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
  });

  it.each([
    {
      when: "before the PUT was recorded as sent",
      sent: false,
      note: "Its secret had not been written, so there was nothing to delete.",
    },
    {
      when: "after the PUT was recorded as sent, before its answer",
      sent: true,
      note: "The secret was already gone from the environment.",
    },
  ])("a grant that crashed $when is still ended at its expiry; a DELETE only when a PUT may have been sent", async ({ sent, note }) => {
    const url = `sqlite:${join(mkdtempSync(join(tmpdir(), "jit-wal-")), "ledger.db")}`;
    // Process 1 writes the ledger row (state granting) and dies before the PUT, or while it is in flight.
    const before = await openLedger(url);
    const createdAt = new Date(Date.parse("2026-03-01T10:00:00Z"));
    const { grant: begun } = await before.beginGrant(
      grantFixture({
        durationMs: 3_600_000,
        requestKey: requestKey("acme", "api", 7, "a".repeat(40), "production", "PROD_DB_URL"),
        createdAt,
        expiresAt: new Date(createdAt.getTime() + 3_600_000),
      }),
    );
    if (sent) await before.markWriting(begun.id);
    await before.close();

    // Process 2 starts on the same ledger; before expiry nothing is due, after it the grant ends.
    h = await startHarness();
    const after = await openLedger(url);
    h.deps.store = after;
    expect(await sweepOnce(h.deps, silent)).toEqual({ due: 0, ended: 0, retrying: 0 });
    await h.clock.advance(3_600_000);
    const gh = new GitHubMock("acme", "api").comment(7).setLabels(7, []);
    if (sent) gh.deleteSecret("production", "PROD_DB_URL", 404).repository();
    expect(await sweepOnce(h.deps, silent)).toEqual({ due: 1, ended: 1, retrying: 0 });
    expect(nock.pendingMocks()).toEqual([]);
    const [grant] = await after.listGrants({ liveOnly: false });
    expect(grant).toMatchObject({ state: "expired", endReason: "expired" });
    expect(gh.body<CommentBody>("/comments").body).toBe(`**Access expired:** \`PROD_DB_URL\` in environment \`production\`. ${note}`);
    await after.close();
  });
});
