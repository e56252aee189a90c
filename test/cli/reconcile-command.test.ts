import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { startCliHarness, type CliHarness } from "../helpers/cli-harness.js";
import { seedGrant, seedWrittenGrant } from "../helpers/grant-fixture.js";
import { GitHubMock } from "../helpers/github-nock.js";
import { RECONCILE_CATALOG } from "../helpers/reconcile-catalog.js";
import {
  mockEnvironmentSecretNames,
  mockInstallationRepositories,
  mockInstallations,
  mockInstallationToken,
  SECRET_UPDATED_AT,
} from "../helpers/reconcile-nock.js";
import { EXPIRY_START } from "../helpers/revocation-deps.js";
import { recordUnmatchedRequests } from "../helpers/unmatched-requests.js";

let cli: CliHarness;
let unmatched: ReturnType<typeof recordUnmatchedRequests>;
beforeEach(async () => {
  cli = await startCliHarness({ catalog: RECONCILE_CATALOG });
  unmatched = recordUnmatchedRequests();
});
afterEach(async () => {
  unmatched.stop();
  await cli.close();
});

/**
 * One installation with three repositories:
 * - acme/api, production: PROD_DB_URL (has a live grant), PAYMENTS_KEY (its grant ended: orphan,
 *   written by the app), UNMANAGED_TOKEN (not in the catalog); staging: PAYMENTS_KEY put there by
 *   an administrator (no record of the app writing it: left alone); dev: no catalog secret may go there.
 * - acme/web, "Production" (GitHub's spelling): PROD_DB_URL (orphan, written by the app),
 *   PAYMENTS_KEY (the catalog does not allow it for acme/web: not managed there).
 * - other/tools: no catalog secret may go there; not even read.
 */
async function scenario(): Promise<void> {
  const longAgo = new Date(EXPIRY_START - 3 * 3_600_000);
  await seedGrant(cli.store, { createdAt: new Date(EXPIRY_START - 3_600_000), secret: "PROD_DB_URL" });
  await seedWrittenGrant(cli.store, { createdAt: longAgo, secret: "PAYMENTS_KEY" }, SECRET_UPDATED_AT);
  await seedWrittenGrant(cli.store, { createdAt: longAgo, repo: "web", secret: "PROD_DB_URL" }, SECRET_UPDATED_AT);
  mockInstallations([42]);
  mockInstallationToken(42);
  mockInstallationRepositories(["acme/api", "acme/web", "other/tools"]);
  new GitHubMock("acme", "api").environments(["production", "staging", "dev"]);
  mockEnvironmentSecretNames("acme/api", "production", ["PROD_DB_URL", "PAYMENTS_KEY", "UNMANAGED_TOKEN"]);
  mockEnvironmentSecretNames("acme/api", "staging", [{ name: "PAYMENTS_KEY", updatedAt: "2026-01-05T00:00:00Z" }]);
  new GitHubMock("acme", "web").environments(["Production"]);
  mockEnvironmentSecretNames("acme/web", "Production", ["PROD_DB_URL", "PAYMENTS_KEY"]);
}

/** What reconcile reads again, under the secret's lock, right before each DELETE. */
function rereads(): void {
  new GitHubMock("acme", "api").secretMetadata("production", "PAYMENTS_KEY", SECRET_UPDATED_AT);
  new GitHubMock("acme", "web").secretMetadata("Production", "PROD_DB_URL", SECRET_UPDATED_AT);
}

const LEFT_ALONE =
  "unmanaged, left alone: acme/api staging PAYMENTS_KEY (jit-access has no record of writing it; updated 2026-01-05T00:00:00.000Z)";

describe("jit-access reconcile", () => {
  it("--dry-run prints what it would delete and what it leaves alone, and changes nothing", async () => {
    await scenario();
    const auditBefore = await cli.store.listAudit();

    const result = await cli.run(["reconcile", "--dry-run"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toEqual([
      "would delete acme/api production PAYMENTS_KEY (no live grant)",
      "would delete acme/web Production PROD_DB_URL (no live grant)",
      LEFT_ALONE,
      "reconcile (dry run): 1 installation, 3 repositories, 4 catalog secrets checked, 2 would be deleted, 1 unmanaged left alone",
    ]);
    expect(await cli.store.listAudit()).toEqual(auditBefore);
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]); // no DELETE was even tried
  });

  it("deletes only the catalog secrets it wrote that have no live grant, with an audit row each", async () => {
    await scenario();
    rereads();
    new GitHubMock("acme", "api").deleteSecret("production", "PAYMENTS_KEY");
    new GitHubMock("acme", "web").deleteSecret("Production", "PROD_DB_URL");

    const result = await cli.run(["reconcile"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toEqual([
      "deleted acme/api production PAYMENTS_KEY (no live grant)",
      "deleted acme/web Production PROD_DB_URL (no live grant)",
      LEFT_ALONE,
      "reconciled: 1 installation, 3 repositories, 4 catalog secrets checked, 2 deleted, 0 failed, 1 unmanaged left alone",
    ]);
    const reconciled = (await cli.store.listAudit()).filter((event) => event.action === "reconciled");
    expect(reconciled).toEqual([
      expect.objectContaining({
        actor: "operator:dana",
        owner: "acme",
        repo: "api",
        environment: "production",
        secret: "PAYMENTS_KEY",
        details: {
          reason: "no live grant",
          secretDeleted: true,
          installationId: 42,
          writtenBy: expect.any(String),
          secretUpdatedAt: "2026-01-01T00:00:00.000Z",
        },
      }),
      expect.objectContaining({ actor: "operator:dana", owner: "acme", repo: "web", environment: "Production", secret: "PROD_DB_URL" }),
    ]);
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]); // PROD_DB_URL in acme/api, the staging PAYMENTS_KEY, UNMANAGED_TOKEN and acme/web's PAYMENTS_KEY untouched
  });

  it("exits 1 when a delete fails, and still deletes the rest", async () => {
    await scenario();
    rereads();
    new GitHubMock("acme", "api").deleteSecret("production", "PAYMENTS_KEY", 500);
    new GitHubMock("acme", "web").deleteSecret("Production", "PROD_DB_URL");

    const result = await cli.run(["reconcile"]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("could not delete acme/api production PAYMENTS_KEY: error");
    expect(result.stdout).toEqual([
      "deleted acme/web Production PROD_DB_URL (no live grant)",
      LEFT_ALONE,
      "reconciled: 1 installation, 3 repositories, 4 catalog secrets checked, 1 deleted, 1 failed, 1 unmanaged left alone",
    ]);
    expect((await cli.store.listAudit()).filter((event) => event.action === "reconciled")).toHaveLength(1);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("exits 2 naming JIT_CATALOG when the catalog is not configured", async () => {
    const result = await cli.run(["reconcile", "--dry-run"], { ...cli.env, JIT_CATALOG: undefined });

    expect(result.code).toBe(2);
    expect(result.stderr.join("\n")).toContain("JIT_CATALOG is not set");
    expect(unmatched.requests).toEqual([]);
  });
});
