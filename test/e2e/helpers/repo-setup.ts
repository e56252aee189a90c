/**
 * Repositories and request pull requests in the simulator, recorded in the world for the final
 * checks. The cast: alice requests, bob owns jit-requests.yml; carol, dave and mallory can write
 * to the repository but own nothing unless a test says so.
 */
import type { FileChanges } from "../../../sim/index.js";
import type { World } from "./e2e-world.js";
import { REQUESTS_FILE } from "./requests-yaml.js";

export const PEOPLE = ["alice", "bob", "carol", "dave", "mallory"] as const;

export interface RequestRepoOptions {
  /** CODEOWNERS on the default branch; default `jit-requests.yml @bob`. */
  codeowners?: string;
  environments?: string[];
  /** The installation that covers it; default the owner's (shared by every acme/* repository of the world). */
  installationId?: number;
}

/** Creates `acme/<name>` with the cast as writers, a production environment and CODEOWNERS. */
export function createRequestRepo(world: World, name: string, options: RequestRepoOptions = {}): string {
  const repo = `acme/${name}`;
  for (const login of PEOPLE) world.sim.addUser(login);
  world.sim.createRepo(repo, {
    defaultBranch: "main",
    collaborators: Object.fromEntries(PEOPLE.map((login) => [login, "write" as const])),
    environments: options.environments ?? ["production"],
    ...(options.installationId === undefined ? {} : { installationId: options.installationId }),
    files: {
      ".github/CODEOWNERS": options.codeowners ?? `${REQUESTS_FILE} @bob\n`,
      [REQUESTS_FILE]: "requests: []\n",
    },
  });
  world.repos.add(repo);
  return repo;
}

export interface OpenRequestOptions {
  branch: string;
  files: FileChanges;
  /** Default alice. */
  author?: string;
  /** Default the default branch. */
  base?: string;
  fromFork?: boolean;
}

/** Commits `files` to a new branch and opens a pull request from it; returns its number. */
export async function openRequest(world: World, repo: string, options: OpenRequestOptions): Promise<number> {
  const author = options.author ?? "alice";
  const base = options.base ?? "main";
  world.sim.commit(repo, options.branch, options.files, { from: base, author });
  const number = await world.sim.openPullRequest(repo, {
    head: options.branch,
    base,
    author,
    title: `Access request from ${options.branch}`,
    fromFork: options.fromFork ?? false,
  });
  world.pulls.push({ repo, number });
  return number;
}

/**
 * Renames a repository in the simulator and in the world's records (the final checks read
 * comments and check runs by the current name; an old name no longer works for scripting calls).
 */
export function renameRequestRepo(world: World, repo: string, newName: string): string {
  const renamed = world.sim.renameRepo(repo, newName).fullName;
  world.repos.delete(repo);
  world.repos.add(renamed);
  for (const pull of world.pulls) if (pull.repo === repo) pull.repo = renamed;
  return renamed;
}

/**
 * Transfers a repository to `newOwner` in the simulator (covered by `installationId` there, or by
 * none when null) and in the world's records, as `renameRequestRepo` does for a rename.
 */
export function transferRequestRepo(world: World, repo: string, newOwner: string, installationId: number | null): string {
  const moved = world.sim.transferRepo(repo, newOwner, { installationId }).fullName;
  world.repos.delete(repo);
  world.repos.add(moved);
  for (const pull of world.pulls) if (pull.repo === repo) pull.repo = moved;
  return moved;
}
