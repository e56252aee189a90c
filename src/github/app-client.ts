import type { AppOctokit } from "./repo-client.js";

/** One installation of the app, as `GET /app/installations` lists it. */
export interface InstallationInfo {
  id: number;
  /** The account's login, or "installation N" when GitHub gives none. */
  account: string;
  suspended: boolean;
}

/** A repository an installation can see, as `GET /installation/repositories` lists it. */
export interface InstalledRepository {
  id: number;
  owner: string;
  name: string;
  defaultBranch: string;
}

/** Every installation of the app (`GET /app/installations`, all pages), authenticated as the app. */
export async function appInstallations(app: AppOctokit): Promise<InstallationInfo[]> {
  const installations = await app.paginate(app.rest.apps.listInstallations, { per_page: 100 });
  return installations.map((installation) => ({
    id: installation.id,
    account: installation.account && "login" in installation.account ? installation.account.login : `installation ${installation.id}`,
    suspended: Boolean(installation.suspended_at),
  }));
}

/** Every repository one installation can see (`GET /installation/repositories`, all pages), authenticated as the installation. */
export async function installationRepositories(octokit: AppOctokit): Promise<InstalledRepository[]> {
  const repositories = await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
  return repositories.map((r) => ({ id: r.id, owner: r.owner.login, name: r.name, defaultBranch: r.default_branch }));
}
