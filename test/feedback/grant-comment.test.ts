import { describe, expect, it } from "@jest/globals";
import { grantComment } from "../../src/feedback/grant-comment.js";
import type { Grant } from "../../src/ledger/store.js";
import { activeGrant } from "../helpers/grant-fixture.js";

/** The grant comment says whether each grant serves only its requester's own workflow runs. */
const NOW = Date.parse("2026-06-01T12:00:00Z");

function grant(secret: string, environment: string, login = "alice"): Grant {
  return activeGrant({
    id: `${secret}-${environment}`,
    environment,
    secret,
    requester: { id: 101, login },
    reason: "INC-1: ship the fix",
    durationMs: 3_600_000,
    requestKey: `k-${secret}`,
    createdAt: new Date(NOW),
    grantedAt: new Date(NOW),
    expiresAt: new Date(NOW + 3_600_000),
  });
}

const comment = (granted: Grant[], bound: string[]) =>
  grantComment({ granted, failed: [], deferred: [] }, NOW, undefined, (g) => bound.includes(g.secret));

describe("grantComment: bound to the requester or not", () => {
  it("a bound grant: only the requester's own runs pass the protection rule", () => {
    expect(comment([grant("DEPLOY_KEY", "production-jit")], ["DEPLOY_KEY"])).toContain(
      "**Bound to `@alice`:** only workflow runs that `@alice` starts (and re-runs) pass jit-access's deployment protection rule, where the environment has it; other runs are rejected.",
    );
  });

  it("an unbound grant: any run that targets the environment can read it; not bound unless said", () => {
    const text = "**Not bound to `@alice`:** any workflow run that targets the environment can read the secret while the grant lasts.";
    expect(comment([grant("PROD_DB_URL", "production")], [])).toContain(text);
    expect(grantComment({ granted: [grant("PROD_DB_URL", "production")], failed: [], deferred: [] }, NOW)).toContain(text);
  });

  it("some of each: names which", () => {
    const text = comment([grant("DEPLOY_KEY", "production-jit"), grant("PROD_DB_URL", "production")], ["DEPLOY_KEY"]);
    expect(text).toContain("**Bound to `@alice`:** `DEPLOY_KEY` → `production-jit`: only workflow runs");
    expect(text).toContain("**Not bound:** `PROD_DB_URL` → `production`: any workflow run");
  });

  it("says nothing of binding when nothing was granted", () => {
    expect(
      grantComment(
        { granted: [], failed: [{ secret: "X", environment: "production", why: "gone" }], deferred: [] },
        NOW,
        undefined,
        () => true,
      ),
    ).not.toMatch(/[Bb]ound/u);
  });
});
