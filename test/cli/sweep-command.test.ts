import { describe, expect, it } from "@jest/globals";
import nock from "nock";
import { cliHarnessPerTest, mockRevocation, startCliHarness, type CliHarness } from "../helpers/cli-harness.js";
import { seedGrant } from "../helpers/grant-fixture.js";
import { GitHubMock } from "../helpers/github-nock.js";
import { mockInstallationToken } from "../helpers/reconcile-nock.js";
import { EXPIRY_START } from "../helpers/revocation-deps.js";
import { recordUnmatchedRequests } from "../helpers/unmatched-requests.js";

const HOUR = 3_600_000;
const DUE_NOW = { createdAt: new Date(EXPIRY_START - 2 * HOUR) };

let cli: CliHarness;
let unmatched: ReturnType<typeof recordUnmatchedRequests>;
cliHarnessPerTest((harness, recorder) => {
  cli = harness;
  unmatched = recorder;
});

describe("jit-access sweep", () => {
  it("prints a summary and exits 0 when nothing is due", async () => {
    await seedGrant(cli.store, { createdAt: new Date(EXPIRY_START - HOUR) }); // an hour to go

    const result = await cli.run(["sweep"]);

    expect(result).toMatchObject({ code: 0, stdout: ["swept: 0 due, 0 ended, 0 still due"] });
    expect(unmatched.requests).toEqual([]);
  });

  it("revokes every due grant and exits 0; logs go to stderr, stdout is only the summary", async () => {
    const grant = await seedGrant(cli.store, DUE_NOW);
    mockRevocation();

    const result = await cli.run(["sweep"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toEqual(["swept: 1 due, 1 ended, 0 still due"]);
    expect(result.stderr.map((line) => (JSON.parse(line) as { msg?: string }).msg)).toContain("grant expired");
    expect(await cli.store.getGrant(grant.id)).toMatchObject({ state: "expired", endedAt: new Date(EXPIRY_START) });
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("exits 1 when a delete fails: the grant stays due and the output says which", async () => {
    const grant = await seedGrant(cli.store, DUE_NOW);
    mockRevocation(500);

    const result = await cli.run(["sweep"]);

    expect(result.code).toBe(1);
    expect(result.stdout).toEqual(["swept: 1 due, 0 ended, 1 still due"]);
    expect(result.stderr.filter((line) => line.startsWith("still due:"))).toEqual([
      expect.stringMatching(
        new RegExp(
          `^still due: grant ${grant.id} acme/api production PROD_DB_URL, expired 2026-03-01T10:00:00.000Z \\(1 failed: .+\\); next attempt from 2026-03-01T10:00:05.000Z$`,
        ),
      ),
    ]);
    expect(await cli.store.getGrant(grant.id)).toMatchObject({ state: "active", revokeAttempts: 1 });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("exits 1 while an overdue grant waits out its backoff, without calling GitHub", async () => {
    const grant = await seedGrant(cli.store, DUE_NOW);
    await cli.store.recordRevokeFailure(grant.id, "DELETE secret: 502", new Date(EXPIRY_START + 5_000));

    const result = await cli.run(["sweep"]);

    expect(result).toMatchObject({ code: 1, stdout: ["swept: 0 due, 0 ended, 1 still due"] });
    expect(unmatched.requests).toEqual([]);
  });

  it.each([
    [{ APP_ID: undefined }, "APP_ID is not set"],
    [{ PRIVATE_KEY: undefined }, "PRIVATE_KEY or PRIVATE_KEY_PATH is not set"],
    [{ APP_ID: "my-app" }, "APP_ID must be the app's numeric ID"],
  ])("exits 2 and names the setting when credentials are missing or wrong (%p)", async (change, message) => {
    const result = await cli.run(["sweep"], { ...cli.env, ...change });

    expect(result.code).toBe(2);
    expect(result.stdout).toEqual([]);
    expect(result.stderr.join("\n")).toContain(message);
  });

  it("exits 2 with the usage on an unknown flag", async () => {
    const result = await cli.run(["sweep", "--now"]);

    expect(result.code).toBe(2);
    expect(result.stderr[0]).toContain("Unknown option '--now'");
    expect(result.stderr[1]).toMatch(/^usage: jit-access sweep/);
  });
});

describe("jit-access sweep with the catalog", () => {
  it("also retries grants GitHub could not take earlier, when JIT_CATALOG is set", async () => {
    const withCatalog = await startCliHarness({ catalog: CATALOG_FOR_RETRY });
    try {
      const grant = await seedGrant(withCatalog.store, { createdAt: new Date(EXPIRY_START - 60_000) }, "granting");
      await withCatalog.store.deferGrant(grant.id, "GitHub rate-limited the write", new Date(EXPIRY_START - 1000));
      // The retry evaluates the PR afresh: here it has been closed meanwhile, so nothing is written.
      mockInstallationToken(42);
      const gh = new GitHubMock("acme", "api").pull({
        number: 7,
        headSha: "a".repeat(40),
        author: { id: 1, login: "alice" },
        state: "closed",
      });

      const result = await withCatalog.run(["sweep"]);

      expect(result.stdout).toEqual(["swept: 0 due, 0 ended, 0 still due", "retried: 1 deferred grants"]);
      expect(nock.pendingMocks()).toEqual([]);
      expect(gh.sent).toEqual([]);
      // Still live (revoked at its expiry), looked at again after the retry interval.
      expect(await withCatalog.store.getGrant(grant.id)).toMatchObject({
        state: "granting",
        nextAttemptAt: new Date(EXPIRY_START + 30_000),
      });
    } finally {
      await withCatalog.close();
    }
  });
});

describe("jit-access sweep and interrupted grants", () => {
  it("ends one whose PR was closed meanwhile now, deleting what its lost PUT may have written, and says so", async () => {
    const withCatalog = await startCliHarness({ catalog: CATALOG_FOR_RETRY });
    try {
      // Its PUT was sent 10 minutes ago and its answer lost: no process is writing it now.
      const grant = await seedGrant(
        withCatalog.store,
        { createdAt: new Date(EXPIRY_START - 600_000), durationMs: 3_600_000, expiresAt: new Date(EXPIRY_START + 3_000_000) },
        "granting",
      );
      // The PR as it is now (closed), and its reviews (read whenever the PR has live grants).
      new GitHubMock("acme", "api")
        .pull({ number: 7, headSha: "a".repeat(40), author: { id: 1, login: "alice" }, state: "closed" })
        .reviews(7, []);
      mockRevocation();

      const result = await withCatalog.run(["sweep"]);

      expect(result.stdout).toEqual([
        "swept: 0 due, 0 ended, 0 still due",
        "retried: 0 deferred grants",
        "resumed: 1 interrupted grant (0 completed, 1 ended)",
      ]);
      expect(nock.pendingMocks()).toEqual([]);
      expect(await withCatalog.store.getGrant(grant.id)).toMatchObject({
        state: "revoked",
        endReason:
          "its write was interrupted, and its approval no longer stands on the same head and request set: the pull request is closed",
      });
    } finally {
      await withCatalog.close();
    }
  });

  it("leaves one recorded less than 5 minutes ago: a live process may still be writing it", async () => {
    const withCatalog = await startCliHarness({ catalog: CATALOG_FOR_RETRY });
    try {
      const grant = await seedGrant(withCatalog.store, { createdAt: new Date(EXPIRY_START - 60_000) }, "granting");
      const result = await withCatalog.run(["sweep"]);
      expect(result.stdout).toEqual(["swept: 0 due, 0 ended, 0 still due", "retried: 0 deferred grants"]);
      expect(await withCatalog.store.getGrant(grant.id)).toMatchObject({ state: "granting", nextAttemptAt: null });
    } finally {
      await withCatalog.close();
    }
  });
});

describe("jit-access sweep with a catalog that cannot be loaded", () => {
  it.each([
    [
      "invalid",
      'secrets:\n  PROD_DB_URL:\n    source: env:PROD_DB_URL\n    repositories: ["acme/*"]\n    environments: [production]\n    max_duration: forever\n',
      "secrets.PROD_DB_URL.max_duration",
    ],
    ["missing", null, "the catalog file does not exist"],
  ])("%s: revokes all the same, skips only the retry of deferred grants, says so, and exits 1", async (_what, catalog, problem) => {
    const broken = await startCliHarness({ catalog: catalog ?? "" });
    try {
      const env = catalog === null ? { ...broken.env, JIT_CATALOG: `${broken.env.JIT_CATALOG}.gone` } : broken.env;
      const due = await seedGrant(broken.store, DUE_NOW);
      const deferred = await seedGrant(
        broken.store,
        { createdAt: new Date(EXPIRY_START - 60_000), prNumber: 8, secret: "PAYMENTS_KEY" },
        "granting",
      );
      await broken.store.deferGrant(deferred.id, "GitHub answered 502", new Date(EXPIRY_START - 1000));
      mockRevocation();

      const result = await broken.run(["sweep"], env);

      expect(result.code).toBe(1);
      expect(result.stdout).toEqual(["swept: 1 due, 1 ended, 0 still due"]);
      const said = result.stderr.filter((line) => !line.startsWith("{"));
      expect(said[0]).toBe(
        "jit-access sweep: the catalog (JIT_CATALOG) could not be loaded, so 1 deferred grant waiting for a retry was not retried (revoking does not need the catalog; the sweep above ran in full):",
      );
      expect(said.slice(1).join("\n")).toContain(problem);
      expect(await broken.store.getGrant(due.id)).toMatchObject({ state: "expired" });
      // Not retried: still waiting, nothing sent for it.
      expect(await broken.store.getGrant(deferred.id)).toMatchObject({ state: "granting", nextAttemptAt: new Date(EXPIRY_START - 1000) });
      expect(nock.pendingMocks()).toEqual([]);
      expect(unmatched.requests).toEqual([]);
    } finally {
      await broken.close();
    }
  });
});

const CATALOG_FOR_RETRY = `secrets:
  PROD_DB_URL:
    source: env:PROD_DB_URL
    repositories: ["acme/*"]
    approvers: ["@bob"]
    environments: [production]
    max_duration: 4h
`;
