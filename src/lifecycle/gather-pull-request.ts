/**
 * Gather: every read the decision about one pull request needs, and nothing else. Reads that do
 * not depend on each other go out together; a stage runs only when the facts so far leave the
 * outcome open, so that a closed PR or one that does not touch the requests file costs few calls.
 *
 * 1. the repository and the PR (re-read: the webhook payload may be older than the head);
 * 2. the base branch's tip and its merge base with the head (one compare), and the repository
 *    config from the default branch;
 * 3. the requests file at head, merge base and base tip;
 * 4. when the PR changes the file: environments, the author's permission, CODEOWNERS, reviews;
 * 5. only for reviewers whose approval of the head could count (a named owner, or anyone when a
 *    team owns the file): their permission, their team memberships, and the owning teams' access.
 */
import type { FileContent, Permission, RepoClient } from "../github/repo-client.js";
import type { LedgerStore } from "../ledger/store.js";
import type { Catalog } from "../policy/catalog.js";
import { CODEOWNERS_LOCATIONS, ownersFor, parseCodeowners, teamKey, type Owner } from "../policy/codeowners.js";
import { ConfigError } from "../policy/config-error.js";
import { approvalCandidates } from "../policy/decide-approval.js";
import { parseRepoConfig, REPO_CONFIG_PATH } from "../policy/load-repo-config.js";
import { DEFAULT_REPO_CONFIG } from "../policy/repo-config.js";
import { repositoryAllowed } from "../policy/repo-glob.js";
import { MAX_FILE_BYTES } from "../requests/request-messages.js";
import { sameName } from "../util/ascii-case.js";
import { livePullRequestGrants } from "./pull-request-grants.js";
import { requestsFileChanged, type ApprovalFacts, type PullRequestFacts, type RequestFileFacts } from "./pull-request-facts.js";

type Team = { org: string; slug: string };
type Person = { id: number; login: string };

/** Where the facts come from: GitHub, and the ledger for the PR's live grants. */
export interface GatherSources {
  client: RepoClient;
  store: Pick<LedgerStore, "listGrants">;
}

export async function gatherPullRequest({ client, store }: GatherSources, prNumber: number, catalog: Catalog): Promise<PullRequestFacts> {
  const [repository, pr] = await Promise.all([client.repository(), client.pullRequest(prNumber)]);
  if (pr.state !== "open") return { repository, pr };

  const files = await requestFile(client, repository.defaultBranch, pr.headSha, pr.baseRef);
  if (!files.policy.ok || !requestsFileChanged(files)) return { repository, pr, files };

  const [environments, authorPermission, owners, reviews, liveGrants] = await Promise.all([
    client.environmentList(),
    client.permission(pr.author.login),
    codeOwners(client, repository.defaultBranch, files.path),
    client.reviews(pr.number),
    livePullRequestGrants(store, repository, pr.number),
  ]);
  const owningTeams = owners.filter((o): o is Extract<Owner, { kind: "team" }> => o.kind === "team");
  // Only reviews that could count cost lookups: an approval of the head (or of a head a live
  // grant was approved on) by someone who is, or through a team may be, a code owner.
  const heads = new Set([pr.headSha, ...liveGrants.map((g) => g.headSha)]);
  const candidates = [...new Map([...heads].flatMap((headSha) => approvalCandidates({ reviews, author: pr.author, headSha })).map((c) => [c.id, c])).values()].filter(
    (c) => owningTeams.length > 0 || owners.some((o) => o.kind === "user" && sameName(o.login, c.login)),
  );
  const [reviewerPermissions, teamPermissions, teamMembers] =
    candidates.length === 0
      ? [new Map<number, Permission>(), new Map<string, Permission>(), new Map<string, Set<number>>()]
      : await Promise.all([
          permissions(client, candidates),
          teamAccess(client, owningTeams),
          activeMembers(client, uniqueTeams([...owningTeams, ...approverTeams(catalog, repository.fullName)]), candidates),
        ]);
  const approval: ApprovalFacts = { environments, authorPermission, owners, reviews, teamMembers, reviewerPermissions, teamPermissions, liveGrants };
  return { repository, pr, files, approval };
}

async function requestFile(client: RepoClient, defaultBranch: string, headSha: string, baseRef: string): Promise<RequestFileFacts> {
  const [{ baseSha, mergeBaseSha }, policy] = await Promise.all([client.compareWithBase(baseRef, headSha), repoPolicy(client, defaultBranch)]);
  // With an unreadable config the default path still tells whether the PR asks for anything.
  const path = policy.ok ? policy.repoConfig.requestsFile : DEFAULT_REPO_CONFIG.requestsFile;
  const read = (ref: string) => client.file(path, ref, MAX_FILE_BYTES);
  const [head, mergeBase, baseTip] = await Promise.all([read(headSha), read(mergeBaseSha), baseSha === mergeBaseSha ? null : read(baseSha)]);
  return { policy, path, mergeBaseSha, head, mergeBase, baseTip: baseSha === mergeBaseSha ? mergeBase : baseTip };
}

async function repoPolicy(client: RepoClient, defaultBranch: string): Promise<RequestFileFacts["policy"]> {
  try {
    const configFile = await client.file(REPO_CONFIG_PATH, defaultBranch);
    return { ok: true, repoConfig: parseRepoConfig(configFile?.text ?? null) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { ok: false, message: error.message };
  }
}

/** Code owners of `file` from the first CODEOWNERS found on the default branch; none → []. */
async function codeOwners(client: RepoClient, defaultBranch: string, file: string): Promise<Owner[]> {
  for (const location of CODEOWNERS_LOCATIONS) {
    const found: FileContent | null = await client.file(location, defaultBranch);
    if (found) return ownersFor(parseCodeowners(found.text).rules, file).owners;
  }
  return [];
}

/** Teams the catalog names as approvers for secrets this repository may receive. */
function approverTeams(catalog: Catalog, repository: string): Team[] {
  const teams: Team[] = [];
  for (const secret of catalog.secrets.values()) {
    if (!repositoryAllowed(secret.repositories, repository)) continue;
    for (const entry of secret.approvers ?? []) if (entry.kind === "team") teams.push(entry);
  }
  return teams;
}

function uniqueTeams(teams: readonly Team[]): Team[] {
  return [...new Map(teams.map((t) => [teamKey(t), t])).values()];
}

async function permissions(client: RepoClient, people: readonly Person[]): Promise<Map<number, Permission>> {
  return new Map(await Promise.all(people.map(async (p) => [p.id, await client.permission(p.login)] as const)));
}

async function teamAccess(client: RepoClient, teams: readonly Team[]): Promise<Map<string, Permission>> {
  return new Map(await Promise.all(uniqueTeams(teams).map(async (t) => [teamKey(t), await client.teamPermission(t.org, t.slug)] as const)));
}

/** For each team, which of the candidates are active members. */
async function activeMembers(client: RepoClient, teams: readonly Team[], candidates: readonly Person[]): Promise<Map<string, Set<number>>> {
  const entries = await Promise.all(
    teams.map(async (team) => {
      const answers = await Promise.all(candidates.map(async (c) => ((await client.isTeamMember(team.org, team.slug, c.login)) ? c.id : null)));
      return [teamKey(team), new Set(answers.filter((id): id is number => id !== null))] as const;
    }),
  );
  return new Map(entries);
}
