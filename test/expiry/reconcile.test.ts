import { afterAll, afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { managedSecrets, reconcile, type ReconcileDeps } from "../../src/expiry/reconcile.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import { parseCatalog } from "../../src/policy/load-catalog.js";
import { seedGrant } from "../helpers/grant-fixture.js";
import { GitHubMock } from "../helpers/github-nock.js";
import { RECONCILE_CATALOG } from "../helpers/reconcile-catalog.js";
import { mockEnvironmentSecretNames, mockInstallationRepositories, mockInstallations } from "../helpers/reconcile-nock.js";
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

  it("walks every page of installations and every installation's repositories", async () => {
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

    expect(report).toMatchObject({ installations: 2, repositories: 3, checked: 1, unreadable: [] });
    expect(report.orphans).toEqual([
      { installationId: 1, owner: "acme", repo: "api", environment: "production", secret: "PROD_DB_URL", outcome: "would-delete" },
    ]);
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]);
  });

  it("keeps a secret whose grant is recorded between the check and the delete", async () => {
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
    expect(await store.listAudit()).toEqual([]);
    expect(nock.pendingMocks()).toEqual([]);
    expect(unmatched.requests).toEqual([]); // no DELETE
  });

  it("counts a secret gone by the time of the DELETE (404) as deleted, and records it", async () => {
    mockInstallations([42]);
    mockInstallationRepositories(["acme/api"]);
    new GitHubMock("acme", "api").environments(["production"]).deleteSecret("production", "PROD_DB_URL", 404).repository();
    mockEnvironmentSecretNames("acme/api", "production", ["PROD_DB_URL"]);

    const report = await reconcile(deps, { dryRun: false, actor: "operator:test" }, log);

    expect(report.orphans).toEqual([expect.objectContaining({ outcome: "absent" })]);
    expect(await store.listAudit()).toEqual([
      expect.objectContaining({ action: "reconciled", actor: "operator:test", details: { reason: "no live grant", secretDeleted: false, installationId: 42 } }),
    ]);
  });

  it("reports a repository it cannot read, changes nothing there, and goes on with the others", async () => {
    mockInstallations([42]);
    mockInstallationRepositories(["acme/api", "acme/web"]);
    new GitHubMock("acme", "api").scope.get("/repos/acme/api/environments").query(true).reply(500, { message: "boom" });
    new GitHubMock("acme", "web").environments(["production"]).deleteSecret("production", "PROD_DB_URL");
    mockEnvironmentSecretNames("acme/web", "production", ["PROD_DB_URL"]);

    const report = await reconcile(deps, { dryRun: false, actor: "operator:test" }, log);

    expect(report.unreadable).toEqual([{ what: "acme/api", error: "boom" }]);
    expect(report.orphans).toEqual([expect.objectContaining({ repo: "web", outcome: "deleted" })]);
    expect(nock.pendingMocks()).toEqual([]);
  });
});
