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
 *    team owns the file): their permission;
 * 6. only for those of them who can write: their team memberships, and the owning teams' access.
 *
 * Permission and membership answers are kept briefly per head in `lookups`, so that events that
 * repeat on a head do not read them again (which kept answers fit: see `reviewerFacts`).
 */
import type { LookupCache } from "../github/lookup-cache.js";
import type { FileContent, Permission, RepoClient } from "../github/repo-client.js";
import type { LedgerStore } from "../ledger/store.js";
import type { Catalog } from "../policy/catalog.js";
import { CODEOWNERS_LOCATIONS, ownersFor, parseCodeowners, teamKey, type Owner } from "../policy/codeowners.js";
import { ConfigError } from "../policy/config-error.js";
import { approvalCandidates, canWrite } from "../policy/decide-approval.js";
import { parseRepoConfig, REPO_CONFIG_PATH } from "../policy/load-repo-config.js";
import { DEFAULT_REPO_CONFIG } from "../policy/repo-config.js";
import { repositoryAllowed } from "../policy/repo-glob.js";
import { MAX_FILE_BYTES } from "../requests/request-messages.js";
import { sameName } from "../util/ascii-case.js";
import { livePullRequestGrants } from "./pull-request-grants.js";
import { requestsFileChanged, type ApprovalFacts, type PullRequestFacts, type RequestFileFacts } from "./pull-request-facts.js";

type Team = { org: string; slug: string };
/** A reviewer whose latest verdict approves a head that matters, with that review's id. */
type Candidate = { id: number; login: string; reviewId: number };
/** A read whose answer is kept for `key` on this installation, repository and head; `reuse` says whether a kept one fits. */
type Lookup = <T>(key: string, read: () => Promise<T>, reuse?: (kept: T) => boolean) => Promise<T>;

/** Where the facts come from: GitHub, the ledger for the PR's live grants, and recent answers. */
export interface GatherSources {
  client: RepoClient;
  store: Pick<LedgerStore, "listGrants">;
  /** Permission and membership answers kept briefly, and the installation that read them; none: every read goes to GitHub. */
  lookups?: { cache: LookupCache; installationId: number };
}

export async function gatherPullRequest(
  { client, store, lookups }: GatherSources,
  prNumber: number,
  catalog: Catalog,
): Promise<PullRequestFacts> {
  const [repository, pr] = await Promise.all([client.repository(), client.pullRequest(prNumber)]);
  if (pr.state !== "open") return { repository, pr };

  const files = await requestFile(client, repository.defaultBranch, pr.headSha, pr.baseRef);
  if (!files.policy.ok || !requestsFileChanged(files)) return { repository, pr, files };

  // Answers are kept per installation, repository and head: a push makes every key new.
  const lookup: Lookup =
    lookups === undefined
      ? (_key, read) => read()
      : (key, read, reuse) =>
          lookups.cache.get(`${lookups.installationId}\u0000${repository.id}\u0000${pr.headSha}\u0000${key}`, read, reuse);
  const [environments, authorPermission, owners, reviews, liveGrants] = await Promise.all([
    client.environmentList(),
    lookup(`author\u0000${pr.author.id}`, () => client.permission(pr.author.login)),
    codeOwners(client, repository.defaultBranch, files.path),
    client.reviews(pr.number),
    livePullRequestGrants(store, repository, pr.number),
  ]);
  const owningTeams = owners.filter((o): o is Extract<Owner, { kind: "team" }> => o.kind === "team");
  // Only reviews that could count cost lookups: an approval of the head (or of a head a live
  // grant was approved on) by someone who is, or through a team may be, a code owner.
  const heads = new Set([pr.headSha, ...liveGrants.map((g) => g.headSha)]);
  const candidates = [
    ...new Map([...heads].flatMap((headSha) => approvalCandidates({ reviews, author: pr.author, headSha })).map((c) => [c.id, c])).values(),
  ].filter((c) => owningTeams.length > 0 || owners.some((o) => o.kind === "user" && sameName(o.login, c.login)));
  const { reviewerPermissions, teamPermissions, teamMembers } = await reviewerFacts(
    client,
    lookup,
    candidates,
    owningTeams,
    approverTeams(catalog, repository.fullName),
  );
  const approval: ApprovalFacts = {
    environments,
    authorPermission,
    owners,
    reviews,
    teamMembers,
    reviewerPermissions,
    teamPermissions,
    liveGrants,
  };
  return { repository, pr, files, approval };
}

async function requestFile(client: RepoClient, defaultBranch: string, headSha: string, baseRef: string): Promise<RequestFileFacts> {
  const [{ baseSha, mergeBaseSha }, policy] = await Promise.all([
    client.compareWithBase(baseRef, headSha),
    repoPolicy(client, defaultBranch),
  ]);
  // With an unreadable config the default path still tells whether the PR asks for anything.
  const path = policy.ok ? policy.repoConfig.requestsFile : DEFAULT_REPO_CONFIG.requestsFile;
  const read = (ref: string) => client.file(path, ref, MAX_FILE_BYTES);
  const [head, mergeBase, baseTip] = await Promise.all([
    read(headSha),
    read(mergeBaseSha),
    baseSha === mergeBaseSha ? null : read(baseSha),
  ]);
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

/**
 * What decides whether the candidates count: their permission, then, only for those who can
 * write, their memberships of the owning and approver teams and the owning teams' access. A
 * reviewer who cannot write never counts (GitHub requires write of a code owner), so approvals
 * from people with read access, or none, cost one permission read each and no team lookup; and
 * while no candidate can write, no team is looked up at all.
 *
 * Answers are kept for the head (see LookupCache) under one rule: an answer that lets an approval
 * count is reused for any approval on the head; one that refuses it, only for the approval (or,
 * for a team's access, the set of approvals) that asked. Someone given write access, or added
 * to a team, who approves again is judged on fresh answers, not on those that refused them a
 * moment ago; repeated events on the head read nothing again.
 *
 * Membership is checked per writer and team (GET …/memberships/{username}) rather than by
 * listing each team's members (GET …/members, 100 a page). Under that rule a listing would have
 * to be read again for every new approver it does not name (a newcomer to the team approving,
 * or a writer outside it), just as the per-writer checks are: so both cost one call per team
 * for each new approver, with a listing costing more for teams over 100 members and needing a
 * paging bound. The checks never cost more.
 */
async function reviewerFacts(
  client: RepoClient,
  lookup: Lookup,
  candidates: readonly Candidate[],
  owningTeams: readonly Team[],
  approverTeams: readonly Team[],
): Promise<Pick<ApprovalFacts, "reviewerPermissions" | "teamPermissions" | "teamMembers">> {
  const reviewerPermissions = new Map(
    await Promise.all(
      candidates.map(async (c) => {
        const { permission } = await lookup(
          `permission\u0000${c.id}`,
          async () => ({ permission: await client.permission(c.login), reviewId: c.reviewId }),
          (kept) => canWrite(kept.permission) || kept.reviewId === c.reviewId,
        );
        return [c.id, permission] as const;
      }),
    ),
  );
  const writers = candidates.filter((c) => canWrite(reviewerPermissions.get(c.id)));
  if (writers.length === 0) return { reviewerPermissions, teamPermissions: new Map(), teamMembers: new Map() };
  const [teamPermissions, teamMembers] = await Promise.all([
    teamAccess(client, lookup, uniqueTeams(owningTeams), writers),
    activeMembers(client, lookup, uniqueTeams([...owningTeams, ...approverTeams]), writers),
  ]);
  return { reviewerPermissions, teamPermissions, teamMembers };
}

/** Each team's access to the repository. */
async function teamAccess(
  client: RepoClient,
  lookup: Lookup,
  teams: readonly Team[],
  writers: readonly Candidate[],
): Promise<Map<string, Permission>> {
  const asked = writers
    .map((w) => w.reviewId)
    .sort((a, b) => a - b)
    .join(",");
  const entries = await Promise.all(
    teams.map(async (team) => {
      const { permission } = await lookup(
        `team\u0000${teamKey(team)}`,
        async () => ({ permission: await client.teamPermission(team.org, team.slug), asked }),
        (kept) => canWrite(kept.permission) || kept.asked === asked,
      );
      return [teamKey(team), permission] as const;
    }),
  );
  return new Map(entries);
}

/** For each team, which of the writers are active members. */
async function activeMembers(
  client: RepoClient,
  lookup: Lookup,
  teams: readonly Team[],
  writers: readonly Candidate[],
): Promise<Map<string, Set<number>>> {
  const entries = await Promise.all(
    teams.map(async (team) => {
      const answers = await Promise.all(
        writers.map(async (w) => {
          const { member } = await lookup(
            `member\u0000${teamKey(team)}\u0000${w.id}`,
            async () => ({ member: await client.isTeamMember(team.org, team.slug, w.login), reviewId: w.reviewId }),
            (kept) => kept.member || kept.reviewId === w.reviewId,
          );
          return member ? w.id : null;
        }),
      );
      return [teamKey(team), new Set(answers.filter((id): id is number => id !== null))] as const;
    }),
  );
  return new Map(entries);
}
