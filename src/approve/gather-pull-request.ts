/**
 * Gather: every read the decision about one pull request needs, and nothing else, in as few
 * sequential round trips as the reads allow. On github.com each round trip costs 50–300 ms, so
 * an approved grant waits on three before its secret's PUT:
 *
 * 1. the PR re-read (the webhook payload may be older than the head; its answer also carries the
 *    repository), its reviews, and, from what the webhook said (`GatherHint`), the merge base
 *    and base tip (one compare), the repository config and CODEOWNERS from the default branch,
 *    and the requests file at the head. A hint the PR contradicts (a push meanwhile) costs one
 *    more round trip for these reads, never a wrong answer: nothing read for a stale head is used;
 * 2. everything else at once: the requests file at the merge base and base tip; and when a
 *    review approves a head that matters, the environments, the author's permission, the
 *    candidates' permissions and team memberships, and for each secret the head's file asks
 *    for, the environment's public key (kept per `key_id`, see PublicKeyCache) and the secret's
 *    metadata (secret-ownership.ts), which the grant then uses instead of reading them again;
 * 3. (grant-requests.ts) the PUT.
 *
 * Without an approval, the stage-2 reads that only a grant needs wait until the files show the PR
 * changes the requests file, so that a PR that does not touch it costs few calls. A PR with live
 * grants always has its reviews judged (`ApprovalFacts`), whatever the file shows now and even
 * when the repository config cannot be read, so that a dismissal still ends them.
 *
 * Permission and membership answers are kept briefly per head in `lookups`, so that events that
 * repeat on a head do not read them again (which kept answers fit: see `reviewerFacts`).
 */
import type { LookupCache } from "../github/lookup-cache.js";
import type { PublicKeyCache } from "../github/public-key-cache.js";
import type { FileContent, Permission, PullRequestInfo, RepoClient, RepositoryInfo, SecretMetadata } from "../github/repo-client.js";
import type { Grant, LedgerStore } from "../ledger/store.js";
import type { Catalog } from "../policy/catalog.js";
import { CODEOWNERS_LOCATIONS, ownersFor, parseCodeowners, teamKey, type Owner } from "./codeowners.js";
import { ConfigError } from "../policy/config-error.js";
import { approvalCandidates, canWrite, type Review } from "./decide-approval.js";
import { parseRepoConfig, REPO_CONFIG_PATH } from "../policy/load-repo-config.js";
import { DEFAULT_REPO_CONFIG } from "../policy/repo-config.js";
import { repositoryAllowed } from "../policy/repo-glob.js";
import { parseRequests } from "../request/parse-requests.js";
import { MAX_FILE_BYTES } from "../request/request-messages.js";
import { asciiLower, asciiUpper, sameName } from "../util/ascii-case.js";
import { livePullRequestGrants } from "../ledger/pull-request-grants.js";
import { requestsFileChanged, type ApprovalFacts, type PullRequestFacts, type RequestFileFacts } from "./pull-request-facts.js";

type Team = { org: string; slug: string };
/** A reviewer whose latest verdict approves a head that matters, with that review's id. */
type Candidate = { id: number; login: string; reviewId: number };
/** A read whose answer is kept for `key` on this installation, repository and head; `reuse` says whether a kept one fits. */
type Lookup = <T>(key: string, read: () => Promise<T>, reuse?: (kept: T) => boolean) => Promise<T>;

/** Where the facts come from: GitHub, the ledger for the PR's live grants, and recent answers. */
export interface GatherSources {
  client: RepoClient;
  store: Pick<LedgerStore, "listGrants"> & Partial<Pick<LedgerStore, "getRequestHead">>;
  /** Permission and membership answers kept briefly, and the installation that read them; none: every read goes to GitHub. */
  lookups?: { cache: LookupCache; installationId: number };
  /** Environment public keys kept per `key_id` (and the installation): read ahead of a grant, once per environment. */
  publicKeys?: { cache: PublicKeyCache; installationId: number };
}

/**
 * What the webhook said about the PR, so that reads which depend on it go out with the PR's
 * re-read instead of after it. Only a guess: every one is checked against the re-read PR.
 */
export interface GatherHint {
  headSha: string;
  baseRef: string;
  defaultBranch: string;
}

/** At most this many secrets' metadata is read ahead of a grant (a requests file may list more; the grant reads the rest). */
const MAX_PREFETCHED_SECRETS = 10;

/** The key under which `PullRequestFacts.secretMetadata` keeps a secret's metadata. */
export function secretMetadataKey(environment: string, secret: string): string {
  return `${asciiLower(environment)}\u0000${asciiUpper(secret)}`;
}

export async function gatherPullRequest(
  { client, store, lookups, publicKeys }: GatherSources,
  prNumber: number,
  catalog: Catalog,
  hint?: GatherHint,
): Promise<PullRequestFacts> {
  // Stage 1: the PR, its reviews, and what the hint lets go out with them.
  const [{ pr, repository }, reviews, guessed] = await Promise.all([
    client.pullRequestAndRepository(prNumber),
    client.reviews(prNumber),
    // A stale hint's reads may fail (a head pushed away): that is only a wasted guess.
    hint
      ? basics(client, hint.baseRef, hint.headSha, hint.defaultBranch).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        )
      : null,
  ]);
  if (pr.state !== "open") return { repository, pr };
  const fits =
    guessed !== null && hint?.headSha === pr.headSha && hint.baseRef === pr.baseRef && hint.defaultBranch === repository.defaultBranch;
  if (fits && "error" in guessed) throw guessed.error;
  const known = fits && "value" in guessed ? guessed.value : await basics(client, pr.baseRef, pr.headSha, repository.defaultBranch);
  const { baseSha, mergeBaseSha, policy } = known;

  // Answers are kept per installation, repository and head: a push makes every key new.
  const lookup: Lookup =
    lookups === undefined
      ? (_key, read) => read()
      : (key, read, reuse) =>
          lookups.cache.get(`${lookups.installationId}\u0000${repository.id}\u0000${pr.headSha}\u0000${key}`, read, reuse);
  // The head's first evaluation (request_ttl) comes with the PR's live grants, from the ledger.
  const [liveGrants, requestHead] = await Promise.all([
    livePullRequestGrants(store, repository, pr.number),
    store.getRequestHead?.({ owner: repository.owner, repo: repository.name, prNumber: pr.number, headSha: pr.headSha }),
  ]);
  // With an unreadable config the default path still tells whether the PR asks for anything.
  const path = policy.ok ? policy.repoConfig.requestsFile : DEFAULT_REPO_CONFIG.requestsFile;
  const owners = known.ownersText === null ? [] : ownersFor(parseCodeowners(known.ownersText).rules, path).owners;
  const owningTeams = owners.filter((o): o is Extract<Owner, { kind: "team" }> => o.kind === "team");
  // Only reviews that could count cost lookups: an approval of the head (or of a head a live
  // grant was approved on) by someone who is, or through a team may be, a code owner.
  const heads = new Set([pr.headSha, ...liveGrants.map((g) => g.headSha)]);
  const candidates = [
    ...new Map([...heads].flatMap((headSha) => approvalCandidates({ reviews, author: pr.author, headSha })).map((c) => [c.id, c])).values(),
  ].filter((c) => owningTeams.length > 0 || owners.some((o) => o.kind === "user" && sameName(o.login, c.login)));

  // Stage 2: the requests file where stage 1 could not read it, and, when an approval may count,
  // everything else at once.
  const read = (ref: string) => client.file(path, ref, MAX_FILE_BYTES);
  const fileReads = Promise.all([
    path === DEFAULT_REPO_CONFIG.requestsFile ? known.head : read(pr.headSha),
    read(mergeBaseSha),
    baseSha === mergeBaseSha ? null : read(baseSha),
  ]).then(([head, mergeBase, baseTip]): RequestFileFacts => ({
    policy,
    path,
    mergeBaseSha,
    head,
    mergeBase,
    baseTip: baseSha === mergeBaseSha ? mergeBase : baseTip,
  }));
  const rest = () =>
    approvalReads(client, lookup, { pr, repository, owners, owningTeams, candidates, reviews, liveGrants, catalog }).then(
      (approval): ApprovalFacts => (requestHead === undefined ? approval : { ...approval, requestHead }),
    );
  // The PR's live grants have their approvals checked again whatever its files show now: a
  // requester who reverts the requests file after the grant, or a config that cannot be read,
  // must not keep a grant whose approval was dismissed.
  const recheck = liveGrants.length > 0;
  if (candidates.length === 0 || !policy.ok) {
    const files = await fileReads;
    if (!recheck && (!files.policy.ok || !requestsFileChanged(files))) return { repository, pr, files };
    return { repository, pr, files, approval: await rest() };
  }
  const approves = candidates.some((c) => reviews.some((r) => r.id === c.reviewId && r.commit_id === pr.headSha));
  const [files, approval, secretMetadata] = await Promise.all([
    fileReads,
    rest(),
    approves && path === DEFAULT_REPO_CONFIG.requestsFile
      ? readAhead(client, publicKeys, { repository, catalog, head: known.head })
      : new Map<string, SecretMetadata | null>(),
  ]);
  if (!requestsFileChanged(files)) return recheck ? { repository, pr, files, approval } : { repository, pr, files };
  return { repository, pr, files, approval, ...(secretMetadata.size > 0 ? { secretMetadata } : {}) };
}

/** Stage 1's reads that need the head, the base branch and the default branch. */
async function basics(
  client: RepoClient,
  baseRef: string,
  headSha: string,
  defaultBranch: string,
): Promise<{
  baseSha: string;
  mergeBaseSha: string;
  policy: RequestFileFacts["policy"];
  head: FileContent | null;
  ownersText: string | null;
}> {
  const [{ baseSha, mergeBaseSha }, policy, head, ownersText] = await Promise.all([
    client.compareWithBase(baseRef, headSha),
    repoPolicy(client, defaultBranch),
    client.file(DEFAULT_REPO_CONFIG.requestsFile, headSha, MAX_FILE_BYTES),
    codeOwnersText(client, defaultBranch),
  ]);
  return { baseSha, mergeBaseSha, policy, head, ownersText };
}

/** The reads only a decision about approval needs. */
async function approvalReads(
  client: RepoClient,
  lookup: Lookup,
  input: {
    pr: PullRequestInfo;
    repository: RepositoryInfo;
    owners: Owner[];
    owningTeams: Team[];
    candidates: Candidate[];
    reviews: Review[];
    liveGrants: Grant[];
    catalog: Catalog;
  },
): Promise<ApprovalFacts> {
  const { pr, repository, owners, owningTeams, candidates, reviews, liveGrants, catalog } = input;
  const [environments, authorPermission, { reviewerPermissions, teamPermissions, teamMembers }] = await Promise.all([
    client.environmentList(),
    lookup(`author\u0000${pr.author.id}`, () => client.permission(pr.author.login)),
    reviewerFacts(client, lookup, candidates, owningTeams, approverTeams(catalog, repository.fullName)),
  ]);
  return { environments, authorPermission, owners, reviews, teamMembers, reviewerPermissions, teamPermissions, liveGrants };
}

/**
 * Reads ahead of a grant, for each secret the head's requests file asks for that the catalog
 * allows here: the environment's public key (into the key cache) and the secret's metadata.
 * What fails is left out: the grant reads it again, and handles the failure as its own.
 */
async function readAhead(
  client: RepoClient,
  publicKeys: GatherSources["publicKeys"],
  input: { repository: RepositoryInfo; catalog: Catalog; head: FileContent | null },
): Promise<Map<string, SecretMetadata | null>> {
  const { repository, catalog, head } = input;
  if (head === null || head.text === "") return new Map();
  const wanted = new Map<string, { environment: string; secret: string }>();
  for (const entry of parseRequests(head.text).entries) {
    const spec = catalog.secrets.get(asciiUpper(entry.secret));
    if (spec === undefined || !repositoryAllowed(spec.repositories, repository.fullName)) continue;
    wanted.set(secretMetadataKey(entry.environment, entry.secret), { environment: entry.environment, secret: asciiUpper(entry.secret) });
  }
  const chosen = [...wanted].slice(0, MAX_PREFETCHED_SECRETS);
  const environments = [...new Map(chosen.map(([, w]) => [asciiLower(w.environment), w.environment])).values()];
  // The keys are not waited for here: the grant waits on the same read (PublicKeyCache keeps it
  // under way), so that a key read that fails or hangs is the grant's to defer, as before.
  if (publicKeys)
    for (const environment of environments)
      void publicKeys.cache
        .get({ installationId: publicKeys.installationId, repositoryId: repository.id, environment }, () =>
          client.environmentPublicKey(environment),
        )
        .catch(() => undefined);
  const answers = await Promise.all(
    chosen.map(([key, w]) =>
      client.environmentSecret(w.environment, w.secret).then(
        (metadata) => [key, metadata] as const,
        () => null,
      ),
    ),
  );
  return new Map(answers.filter((a): a is readonly [string, SecretMetadata | null] => a !== null));
}

export async function repoPolicy(client: RepoClient, defaultBranch: string): Promise<RequestFileFacts["policy"]> {
  try {
    const configFile = await client.file(REPO_CONFIG_PATH, defaultBranch);
    return { ok: true, repoConfig: parseRepoConfig(configFile?.text ?? null) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { ok: false, message: error.message };
  }
}

/** The first CODEOWNERS found on the default branch (GitHub's order of locations), or null when there is none. */
export async function codeOwnersText(client: RepoClient, defaultBranch: string): Promise<string | null> {
  for (const location of CODEOWNERS_LOCATIONS) {
    const found = await client.file(location, defaultBranch);
    if (found) return found.text;
  }
  return null;
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
