import { afterAll, afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { managedSecrets, reconcile, type ReconcileDeps } from "../../src/revoke/reconcile.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import { parseCatalog } from "../../src/policy/load-catalog.js";
import { seedGrant, seedWrittenGrant } from "../helpers/grant-fixture.js";
import { GitHubMock } from "../helpers/github-nock.js";
import { RECONCILE_CATALOG } from "../helpers/reconcile-catalog.js";
import {
  mockEnvironmentSecretNames,
  mockInstallationRepositories,
  mockInstallations,
  SECRET_UPDATED_AT,
} from "../helpers/reconcile-nock.js";
import { recordingLog } from "../helpers/recording-log.js";
import { revocationDeps } from "../helpers/revocation-deps.js";
import { recordUnmatchedRequests } from "../helpers/unmatched-requests.js";

const catalog = parseCatalog(RECONCILE_CATALOG, "jit-catalog.yml");

describe("managedSecrets", () => {
  it.each([
    ["acme/api", ["production", "staging", "dev"], { production: ["PROD_DB_URL", "PAYMENTS_KEY"], staging: ["PAYMENTS_KEY"] }],
    ["acme/web", ["production", "staging"], { production: ["PROD_DB_URL"] }],
    ["ACME/Web", ["PRODUCTION"], { PRODUCTION: ["PROD_DB_URL"] }],
    ["acme/web", ["dev"], {}],
    ["other/tools", ["production"], {}],
    ["acme/api", [], {}],
  ])("%s with environments %p manages %p", (fullName, environments, expected) => {
    const managed = managedSecrets(catalog, fullName, environments);
    expect(Object.fromEntries(managed.map(({ environment, secrets }) => [environment, [...secrets]]))).toEqual(expected);
  });
});

describe("reconcile", () => {
  let store: LedgerStore;
  let deps: ReconcileDeps;
  let unmatched: ReturnType<typeof recordUnmatchedRequests>;
  const { log } = recordingLog();

  beforeEach(async () => {
    store = await openLedger("sqlite::memory:");
    const { deps: lifecycle, probot } = revocationDeps(store);
    deps = { ...lifecycle, catalog, appOctokit: () => probot.auth() };
    unmatched = recordUnmatchedRequests();
  });
  afterEach(async () => {
    unmatched.stop();
    nock.cleanAll();
    await store.close();
  });
  afterAll(() => {
    nock.enableNetConnect();
  });

  /** The app wrote `secret` in `repo`'s production environment; the grant has ended since. */
  const written = (repo: string, secret = "PROD_DB_URL", updatedAt = SECRET_UPDATED_AT) =>
    seedWrittenGrant(store, { repo, secret, createdAt: new Date(deps.clock.now() - 5 * 3_600_000) }, updatedAt);

  it("walks every page of installations and every installation's repositories", async () => {
    const writer = await written("api");
    mockInstallations([1], { next: 2 });
    mockInstallations([2], { page: 2 });
    mockInstallationRepositories(["acme/api"]);
    mockInstallationRepositories(["acme/web", "acme/docs"]);
    new GitHubMock("acme", "api").environments(["production"]);
    mockEnvironmentSecretNames("acme/api", "production", ["PROD_DB_URL"]);
    new GitHubMock("acme", "web").environments([]);
    new GitHubMock("acme", "docs").environments(["production"]);
    mockEnvironmentSecretNames("acme/docs", "production", []);

    const report = await reconcile(deps, { dryRun: true, actor: "operator:test" }, log);

    expect(report).toMatchObject({ installations: 2, repositories: 3, checked: 1, unmanaged: [], unreadable: [] });
    expect(report.orphans).toEqual([
      {
        installationId: 1,
        owner: "acme",
        repo: "api",
        environment: "production",
        secret: "PROD_DB_URL",
        outcome: "would-delete",
        writtenBy: writer.id,
      },
    ]);
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("keeps a secret whose grant is recorded between the check and the delete", async () => {
    await written("api");
    mockInstallations([42]);
    mockInstallationRepositories(["acme/api"]);
    new GitHubMock("acme", "api").environments(["production"]);
    mockEnvironmentSecretNames("acme/api", "production", ["PROD_DB_URL"]);
    let checks = 0;
    const racing = Object.create(store, {
      listGrants: {
        value: async (...args: Parameters<LedgerStore["listGrants"]>) => {
          const live = await store.listGrants(...args);
          if (++checks === 1) await seedGrant(store, { createdAt: new Date(deps.clock.now()) }, "granting"); // the server, meanwhile
          return live;
        },
      },
    }) as LedgerStore;

    const report = await reconcile({ ...deps, store: racing }, { dryRun: false, actor: "operator:test" }, log);

    expect(report.orphans).toEqual([expect.objectContaining({ secret: "PROD_DB_URL", outcome: "kept" })]);
    expect((await store.listAudit()).filter((a) => a.action === "reconciled")).toEqual([]);
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]); // no DELETE
  });

  it("counts a secret gone by the time of the DELETE (404) as deleted, and records it", async () => {
    const writer = await written("api");
    mockInstallations([42]);
    mockInstallationRepositories(["acme/api"]);
    new GitHubMock("acme", "api")
      .environments(["production"])
      .secretMetadata("production", "PROD_DB_URL", SECRET_UPDATED_AT)
      .deleteSecret("production", "PROD_DB_URL", 404)
      .repository();
    mockEnvironmentSecretNames("acme/api", "production", ["PROD_DB_URL"]);

    const report = await reconcile(deps, { dryRun: false, actor: "operator:test" }, log);

    expect(report.orphans).toEqual([expect.objectContaining({ outcome: "absent" })]);
    expect((await store.listAudit()).filter((a) => a.action === "reconciled")).toEqual([
      expect.objectContaining({
        action: "reconciled",
        actor: "operator:test",
        details: {
          reason: "no live grant",
          secretDeleted: false,
          installationId: 42,
          writtenBy: writer.id,
          secretUpdatedAt: "2026-01-01T00:00:00.000Z",
        },
      }),
    ]);
  });

  it("leaves alone, in a dry run or not, a catalog secret it has no record of writing, or one rewritten since its write", async () => {
    await written("api", "PAYMENTS_KEY", "2026-01-02T00:00:00Z");
    for (const dryRun of [true, false]) {
      mockInstallations([42]);
      mockInstallationRepositories(["acme/api"]);
      new GitHubMock("acme", "api").environments(["production"]);
      // PROD_DB_URL: an administrator's, never written by the app. PAYMENTS_KEY: the app wrote it
      // at 00:00 on the 2nd; someone rewrote it at 09:30.
      mockEnvironmentSecretNames("acme/api", "production", ["PROD_DB_URL", { name: "PAYMENTS_KEY", updatedAt: "2026-01-02T09:30:00Z" }]);

      const report = await reconcile(deps, { dryRun, actor: "operator:test" }, log);

      expect(report).toMatchObject({ checked: 2, orphans: [] });
      expect(report.unmanaged).toEqual([
        {
          installationId: 42,
          owner: "acme",
          repo: "api",
          environment: "production",
          secret: "PROD_DB_URL",
          updatedAt: new Date(SECRET_UPDATED_AT),
        },
        {
          installationId: 42,
          owner: "acme",
          repo: "api",
          environment: "production",
          secret: "PAYMENTS_KEY",
          updatedAt: new Date("2026-01-02T09:30:00Z"),
        },
      ]);
      expect(nock.pendingMocks()).toEqual([]);
      expect(unmatched.requests).toEqual([]); // no DELETE, no metadata read
    }
    expect((await store.listAudit()).filter((a) => a.action === "reconciled")).toEqual([]);
  });

  it("leaves alone a secret the app wrote that someone rewrote between the scan and the delete", async () => {
    await written("api");
    mockInstallations([42]);
    mockInstallationRepositories(["acme/api"]);
    new GitHubMock("acme", "api").environments(["production"]).secretMetadata("production", "PROD_DB_URL", "2026-01-03T08:00:00Z");
    mockEnvironmentSecretNames("acme/api", "production", ["PROD_DB_URL"]);

    const report = await reconcile(deps, { dryRun: false, actor: "operator:test" }, log);

    expect(report.orphans).toEqual([]);
    expect(report.unmanaged).toEqual([expect.objectContaining({ secret: "PROD_DB_URL", updatedAt: new Date("2026-01-03T08:00:00Z") })]);
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]); // no DELETE
    expect((await store.listAudit()).filter((a) => a.action === "reconciled")).toEqual([]);
  });

  it("reports a repository it cannot read, changes nothing there, and goes on with the others", async () => {
    await written("web");
    mockInstallations([42]);
    mockInstallationRepositories(["acme/api", "acme/web"]);
    new GitHubMock("acme", "api").scope.get("/repos/acme/api/environments").query(true).reply(500, { message: "boom" });
    new GitHubMock("acme", "web")
      .environments(["production"])
      .secretMetadata("production", "PROD_DB_URL", SECRET_UPDATED_AT)
      .deleteSecret("production", "PROD_DB_URL");
    mockEnvironmentSecretNames("acme/web", "production", ["PROD_DB_URL"]);

    const report = await reconcile(deps, { dryRun: false, actor: "operator:test" }, log);

    expect(report.unreadable).toEqual([{ what: "acme/api", error: "boom" }]);
    expect(report.orphans).toEqual([expect.objectContaining({ repo: "web", outcome: "deleted" })]);
    expect(nock.pendingMocks()).toEqual([]);
  });
});
