import { RepoClient, type AppOctokit } from "./repo-client.js";
import { LostAccessError, statusOf } from "./github-failure.js";

/** Where a grant was made, as the ledger recorded it then. */
export interface RecordedRepository {
  installationId: number;
  owner: string;
  repo: string;
  /** GitHub's id of the repository; null on grants recorded before the ledger kept ids. */
  repositoryId: number | null;
}

/** Where a webhook says the repository is now: its id, name and the installation the event came with. */
export interface RepositoryNow {
  id: number;
  installationId: number;
  owner: string;
  name: string;
}

export interface RepositoryAccess {
  octokitFor(installationId: number): Promise<AppOctokit>;
  /** The app itself (JWT): finds the installation that covers a repository moved to another owner. */
  appOctokit?(): Promise<AppOctokit>;
}

type RawRepository = { id: number; name: string; owner: { login: string } };

/** The repository found, and the installation whose token reaches it now. */
export interface LocatedRepository {
  client: RepoClient;
  installationId: number;
}

/**
 * A client for the repository a grant was made in, found by its id, under whatever name and
 * installation it has now:
 *
 * 1. `now`, when an event for that repository (same id) says where it is;
 * 2. the recorded name with the recorded installation (`GET /repos/{owner}/{repo}`, which GitHub
 *    redirects after a rename), when it answers with the same id;
 * 3. the id with the recorded installation (`GET /repositories/{id}`, where GitHub's redirects
 *    lead): a repository renamed and its old name taken by a new one;
 * 4. the installation that covers the recorded name now (`GET /repos/{owner}/{repo}/installation`
 *    as the app, which GitHub redirects for a repository transferred to another owner), then the
 *    id with that installation.
 *
 * When none finds it, the app has lost the repository: `LostAccessError`, never "gone". Grants
 * recorded without an id are addressed by their recorded name, as before.
 */
export async function locateRepository(
  access: RepositoryAccess,
  recorded: RecordedRepository,
  now?: RepositoryNow,
): Promise<LocatedRepository> {
  const id = recorded.repositoryId;
  const at = (installationId: number, octokit: AppOctokit, owner: string, name: string): LocatedRepository => ({
    client: new RepoClient(octokit, owner, name, id),
    installationId,
  });
  if (id === null) return at(recorded.installationId, await access.octokitFor(recorded.installationId), recorded.owner, recorded.repo);
  if (now !== undefined && now.id === id) return at(now.installationId, await access.octokitFor(now.installationId), now.owner, now.name);

  const octokit = await access.octokitFor(recorded.installationId);
  const byName = await readRepository(() => octokit.rest.repos.get({ owner: recorded.owner, repo: recorded.repo }));
  if (byName?.id === id) return at(recorded.installationId, octokit, byName.owner.login, byName.name);
  const byId = await repositoryById(octokit, id);
  if (byId !== null) return at(recorded.installationId, octokit, byId.owner.login, byId.name);

  const moved = await installationNow(access, recorded);
  if (moved !== null && moved !== recorded.installationId) {
    const elsewhere = await access.octokitFor(moved);
    const found = await repositoryById(elsewhere, id);
    if (found !== null) return at(moved, elsewhere, found.owner.login, found.name);
  }
  throw new LostAccessError(`${recorded.owner}/${recorded.repo}`);
}

/** `GET /repositories/{id}`: the repository this installation can see under that id, or null. */
async function repositoryById(octokit: AppOctokit, id: number): Promise<RawRepository | null> {
  return readRepository(() => octokit.request("GET /repositories/{repository_id}", { repository_id: id }));
}

async function readRepository(read: () => Promise<{ data: unknown }>): Promise<RawRepository | null> {
  try {
    return (await read()).data as RawRepository;
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw error;
  }
}

/** The installation that covers the recorded name now (GitHub follows a transfer), or null. */
async function installationNow(access: RepositoryAccess, recorded: RecordedRepository): Promise<number | null> {
  if (access.appOctokit === undefined) return null;
  const app = await access.appOctokit();
  try {
    const { data } = await app.rest.apps.getRepoInstallation({ owner: recorded.owner, repo: recorded.repo });
    return data.id;
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw error;
  }
}
