/**
 * Gather: every read the decision about one pull request needs, and nothing else. Reads that do
 * not depend on each other go out together; a stage runs only when the facts so far leave the
 * outcome open, so that a closed PR or one that does not touch the requests file costs few calls.
 *
 * 1. the repository and the PR (re-read: the webhook payload may be older than the head);
 * 2. the repository config from the default branch, then the requests file at head and base;
 * 3. when the file changed: environments, the author's permission, CODEOWNERS, the reviews;
 * 4. team memberships, only for reviewers whose approval could count.
 */
import type { FileContent, RepoClient } from "../github/repo-client.js";
import { CODEOWNERS_LOCATIONS, ownersFor, parseCodeowners, teamKey, type Owner } from "../policy/codeowners.js";
import { ConfigError } from "../policy/config-error.js";
import { approvalCandidates } from "../policy/decide-approval.js";
import { parseRepoConfig, REPO_CONFIG_PATH } from "../policy/load-repo-config.js";
import { DEFAULT_REPO_CONFIG } from "../policy/repo-config.js";
import { MAX_FILE_BYTES } from "../requests/request-messages.js";
import { requestsFileChanged, type ApprovalFacts, type PullRequestFacts, type RequestFileFacts } from "./pull-request-facts.js";

export async function gatherPullRequest(client: RepoClient, prNumber: number): Promise<PullRequestFacts> {
  const [repository, pr] = await Promise.all([client.repository(), client.pullRequest(prNumber)]);
  if (pr.state !== "open") return { repository, pr };

  const files = await requestFile(client, repository.defaultBranch, pr.headSha, pr.baseSha);
  if (!files.policy.ok || !requestsFileChanged(files)) return { repository, pr, files };

  const [environments, authorPermission, owners, reviews] = await Promise.all([
    client.environments(),
    client.permission(pr.author.login),
    codeOwners(client, repository.defaultBranch, files.path),
    client.reviews(pr.number),
  ]);
  const candidates = approvalCandidates({ reviews, author: pr.author, headSha: pr.headSha });
  const teamMembers = await activeMembers(client, owners, candidates);
  const approval: ApprovalFacts = { environments, authorPermission, owners, reviews, teamMembers };
  return { repository, pr, files, approval };
}

async function requestFile(client: RepoClient, defaultBranch: string, headSha: string, baseSha: string): Promise<RequestFileFacts> {
  let policy: RequestFileFacts["policy"];
  try {
    const configFile = await client.file(REPO_CONFIG_PATH, defaultBranch);
    policy = { ok: true, repoConfig: parseRepoConfig(configFile?.text ?? null) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    policy = { ok: false, message: error.message };
  }
  // With an unreadable config the default path still tells whether the PR asks for anything.
  const path = policy.ok ? policy.repoConfig.requestsFile : DEFAULT_REPO_CONFIG.requestsFile;
  const [head, base] = await Promise.all([client.file(path, headSha, MAX_FILE_BYTES), client.file(path, baseSha, MAX_FILE_BYTES)]);
  return { policy, path, head, base };
}

/** Code owners of `file` from the first CODEOWNERS found on the default branch; none → []. */
async function codeOwners(client: RepoClient, defaultBranch: string, file: string): Promise<Owner[]> {
  for (const location of CODEOWNERS_LOCATIONS) {
    const found: FileContent | null = await client.file(location, defaultBranch);
    if (found) return ownersFor(parseCodeowners(found.text).rules, file).owners;
  }
  return [];
}

/** For each owning team, which of the candidates are active members. */
async function activeMembers(
  client: RepoClient,
  owners: readonly Owner[],
  candidates: readonly { id: number; login: string }[],
): Promise<Map<string, Set<number>>> {
  const teams = owners.filter((o): o is Extract<Owner, { kind: "team" }> => o.kind === "team");
  const entries = await Promise.all(
    teams.map(async (team) => {
      const answers = await Promise.all(candidates.map(async (c) => ((await client.isTeamMember(team.org, team.slug, c.login)) ? c.id : null)));
      return [teamKey(team), new Set(answers.filter((id): id is number => id !== null))] as const;
    }),
  );
  return new Map(entries);
}
