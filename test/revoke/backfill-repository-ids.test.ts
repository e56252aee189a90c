import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import type { GitHubSimulator } from "../../sim/index.js";
import type { LifecycleDeps } from "../../src/app/deps.js";
import type { AppOctokit } from "../../src/github/repo-client.js";
import { openLedger } from "../../src/ledger/open-ledger.js";
import type { LedgerStore } from "../../src/ledger/store.js";
import { backfillRepositoryIds } from "../../src/revoke/backfill-repository-ids.js";
import { seedGrant } from "../helpers/grant-fixture.js";
import { recordingLog } from "../helpers/recording-log.js";
import { installationOctokit, startCheckedSimulator } from "../sim/helpers.js";

/**
 * Grants recorded before the ledger kept repository ids get the id of the repository they were
 * made in, against the simulator (every request checked against GitHub's REST description): only
 * while the recorded name is still that repository's own and the grant's pull request there is
 * the requester's. A renamed repository, or a new one under the old name, gets nothing.
 */
const INSTALLATION = 42;

let sim: GitHubSimulator;
let store: LedgerStore;
let deps: Pick<LifecycleDeps, "store" | "octokitFor">;
let alice: { id: number; login: string };

beforeAll(async () => {
  sim = await startCheckedSimulator();
  alice = sim.addUser("alice");
  sim.addUser("mallory");
});
afterAll(async () => {
  expect(sim.violations).toEqual([]);
  await sim.close();
});
beforeEach(async () => {
  store = await openLedger("sqlite::memory:");
  deps = { store, octokitFor: async (id) => installationOctokit(sim, id) as unknown as AppOctokit };
});
afterEach(() => store.close());

/** acme/<name> with a pull request by `author`; its id and the PR's number. */
async function repoWithPullRequest(name: string, author = "alice"): Promise<{ id: number; pr: number }> {
  const { id } = sim.createRepo(`acme/${name}`, { installationId: INSTALLATION, collaborators: { alice: "write", mallory: "write" } });
  sim.commit(`acme/${name}`, "need-db", { "jit-requests.yml": "requests: []\n" }, { author });
  const pr = await sim.openPullRequest(`acme/${name}`, { head: "need-db", author, deliver: false });
  return { id, pr };
}

/** A live grant recorded without a repository id, as the ledger wrote them before it kept ids. */
function olderGrant(repo: string, prNumber: number) {
  return seedGrant(store, { installationId: INSTALLATION, owner: "acme", repo, prNumber, requester: alice, createdAt: new Date() });
}

describe("repository ids of grants recorded without one", () => {
  it("are filled in while the recorded name is still the repository's own and the pull request the requester's", async () => {
    const { id, pr } = await repoWithPullRequest("still-named");
    const grant = await olderGrant("still-named", pr);
    const { log } = recordingLog();

    expect(await backfillRepositoryIds(deps, log)).toBe(1);
    expect(await store.getGrant(grant.id)).toMatchObject({ repositoryId: id });
    // Nothing is left to do on the next pass.
    expect(await backfillRepositoryIds(deps, log)).toBe(0);
  });

  it("are left alone once the repository was renamed (the old name only redirects)", async () => {
    const { pr } = await repoWithPullRequest("renamed-since");
    const grant = await olderGrant("renamed-since", pr);
    sim.renameRepo("acme/renamed-since", "renamed-now");

    expect(await backfillRepositoryIds(deps, recordingLog().log)).toBe(0);
    expect(await store.getGrant(grant.id)).toMatchObject({ repositoryId: null });
  });

  it("are left alone when a new repository took the old name, even with a pull request of the same number", async () => {
    const { pr } = await repoWithPullRequest("taken-name");
    const grant = await olderGrant("taken-name", pr);
    sim.renameRepo("acme/taken-name", "moved-aside");
    const squatter = await repoWithPullRequest("taken-name", "mallory");
    expect(squatter.pr).toBe(pr);

    expect(await backfillRepositoryIds(deps, recordingLog().log)).toBe(0);
    expect(await store.getGrant(grant.id)).toMatchObject({ repositoryId: null });
  });

  it("are left alone when the repository cannot be read, and a failure other than not found is logged", async () => {
    const { pr } = await repoWithPullRequest("out-of-reach");
    const grant = await olderGrant("out-of-reach", pr);
    sim.removeRepoFromInstallation("acme/out-of-reach");
    const gone = recordingLog();
    expect(await backfillRepositoryIds(deps, gone.log)).toBe(0);
    expect(gone.messages("warn")).toEqual([]);

    const failing = recordingLog();
    const broken = { store, octokitFor: () => Promise.reject(new Error("installation token refused")) };
    expect(await backfillRepositoryIds(broken, failing.log)).toBe(0);
    expect(failing.messages("warn")).toEqual(["could not read a repository's id"]);
    expect(await store.getGrant(grant.id)).toMatchObject({ repositoryId: null });
  });
});
