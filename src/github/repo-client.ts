import type { ProbotOctokit } from "probot";
import { LostAccessError, statusOf } from "./github-failure.js";
import { RUNS_AT_TURN } from "./pacing-plugin.js";

/** One item of GitHub's REST "list reviews for a pull request" (chronological), fields used here. */
export interface Review {
  id: number;
  user: { id: number; login: string } | null;
  /** "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED" | "PENDING", in any case. */
  state: string;
  commit_id: string | null;
  submitted_at?: string | null;
}

/**
 * The one place that calls the GitHub API for one repository of one installation.
 * Every method asks for exactly what the app needs and returns plain data; nothing here logs
 * a response (a raw response in a log could carry anything).
 */
export type AppOctokit = InstanceType<typeof ProbotOctokit>;

export interface PullRequestInfo {
  number: number;
  state: "open" | "closed";
  merged: boolean;
  headSha: string;
  headRepoFullName: string | null;
  baseRef: string;
  baseSha: string;
  author: { id: number; login: string };
}

export interface RepositoryInfo {
  /** GitHub's id: stable across renames and transfers. */
  id: number;
  defaultBranch: string;
  fullName: string;
  owner: string;
  name: string;
}

export interface EnvironmentInfo {
  name: string;
  /** Types of the environment's protection rules: "required_reviewers", "wait_timer", "branch_policy", a custom rule's type. */
  protectionRules: string[];
  /** A deployment branch policy restricts which branches may deploy. */
  branchPolicy: boolean;
}

type RawEnvironment = { name: string; protection_rules?: { type: string }[]; deployment_branch_policy?: unknown };

export type Permission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

/** What GitHub tells of an Actions secret: its name and when it was created and last written. */
export interface SecretMetadata {
  name: string;
  createdAt: Date;
  /** Changes with every write of the value: the app records it after each of its PUTs. */
  updatedAt: Date;
}

function secretMetadata(data: { name: string; created_at: string; updated_at: string }): SecretMetadata {
  const createdAt = new Date(data.created_at);
  const updatedAt = new Date(data.updated_at);
  if (Number.isNaN(createdAt.getTime()) || Number.isNaN(updatedAt.getTime())) {
    throw new Error(`GitHub answered unreadable times for secret ${data.name}`);
  }
  return { name: data.name, createdAt, updatedAt };
}

type RawPullRequest = {
  number: number;
  state: string;
  merged?: boolean | null;
  head: { sha: string; repo: { full_name: string } | null };
  base: { ref: string; sha: string };
  user: { id: number; login: string };
};

function pullRequestInfo(data: RawPullRequest): PullRequestInfo {
  return {
    number: data.number,
    state: data.state === "open" ? "open" : "closed",
    merged: Boolean(data.merged),
    headSha: data.head.sha,
    headRepoFullName: data.head.repo?.full_name ?? null,
    baseRef: data.base.ref,
    baseSha: data.base.sha,
    author: { id: data.user.id, login: data.user.login },
  };
}

export interface FileContent {
  text: string;
  size: number;
}

export class RepoClient {
  readonly #octokit: AppOctokit;

  /**
   * `repositoryId`, when known, is the repository this client is meant for: a name that now
   * answers with another repository (the old name of a renamed or transferred one, taken by a new
   * repository) does not count as seeing it.
   */
  constructor(
    octokit: AppOctokit,
    readonly owner: string,
    readonly repo: string,
    readonly repositoryId: number | null = null,
  ) {
    this.#octokit = octokit;
  }

  get fullName(): string {
    return `${this.owner}/${this.repo}`;
  }

  async repository(): Promise<RepositoryInfo> {
    const { data } = await this.#octokit.rest.repos.get({ owner: this.owner, repo: this.repo });
    return { id: data.id, defaultBranch: data.default_branch, fullName: data.full_name, owner: data.owner.login, name: data.name };
  }

  /**
   * A file at a ref (branch or commit), or null when it does not exist there.
   * Files over `maxBytes` are not downloaded: their text is empty and `size` says why.
   */
  async file(path: string, ref: string, maxBytes = 1024 * 1024): Promise<FileContent | null> {
    try {
      const { data } = await this.#octokit.rest.repos.getContent({ owner: this.owner, repo: this.repo, path, ref });
      if (Array.isArray(data) || data.type !== "file") return null;
      if (data.size > maxBytes || !("content" in data) || data.encoding !== "base64") {
        return { text: "", size: data.size };
      }
      return { text: Buffer.from(data.content, "base64").toString("utf8"), size: data.size };
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  async pullRequest(number: number): Promise<PullRequestInfo> {
    const { data } = await this.#octokit.rest.pulls.get({ owner: this.owner, repo: this.repo, pull_number: number });
    return pullRequestInfo(data);
  }

  /**
   * The pull request, and its repository as the same answer describes it (`base.repo`): default
   * branch, id and names, without a call of their own.
   */
  async pullRequestAndRepository(number: number): Promise<{ pr: PullRequestInfo; repository: RepositoryInfo }> {
    const { data } = await this.#octokit.rest.pulls.get({ owner: this.owner, repo: this.repo, pull_number: number });
    const base = data.base.repo;
    return {
      pr: pullRequestInfo(data),
      repository: { id: base.id, defaultBranch: base.default_branch, fullName: base.full_name, owner: base.owner.login, name: base.name },
    };
  }

  async reviews(number: number): Promise<Review[]> {
    const reviews = await this.#octokit.paginate(this.#octokit.rest.pulls.listReviews, {
      owner: this.owner,
      repo: this.repo,
      pull_number: number,
      per_page: 100,
    });
    return reviews.map((r) => ({
      id: r.id,
      user: r.user ? { id: r.user.id, login: r.user.login } : null,
      state: r.state,
      commit_id: r.commit_id ?? null,
      submitted_at: r.submitted_at ?? null,
    }));
  }

  async permission(login: string): Promise<Permission> {
    try {
      const { data } = await this.#octokit.rest.repos.getCollaboratorPermissionLevel({
        owner: this.owner,
        repo: this.repo,
        username: login,
      });
      const role = (data.role_name ?? "").toLowerCase();
      if (role === "maintain" || role === "triage") return role;
      return (data.permission as Permission) ?? "none";
    } catch (error) {
      if (statusOf(error) === 404) return "none";
      throw error;
    }
  }

  async environments(): Promise<string[]> {
    return (await this.environmentList()).map((e) => e.name);
  }

  /** The repository's Actions environments with whether each is protected; none when the list is not found. */
  async environmentList(): Promise<EnvironmentInfo[]> {
    try {
      const found: EnvironmentInfo[] = [];
      for await (const page of this.#octokit.paginate.iterator(this.#octokit.rest.repos.getAllEnvironments, {
        owner: this.owner,
        repo: this.repo,
        per_page: 100,
      })) {
        const data = page.data as unknown as { environments?: RawEnvironment[] } | RawEnvironment[];
        const list = Array.isArray(data) ? data : (data.environments ?? []);
        found.push(
          ...list.map((e) => ({
            name: e.name,
            protectionRules: (e.protection_rules ?? []).map((rule) => rule.type),
            branchPolicy: e.deployment_branch_policy != null,
          })),
        );
      }
      return found;
    } catch (error) {
      if (statusOf(error) === 404) return [];
      throw error;
    }
  }

  /**
   * The base branch's tip now and its merge base with `headSha` (what GitHub diffs "Files
   * changed" against), from one call to the compare API (`base_commit`, `merge_base_commit`).
   * The PR's own `base.sha` is not the tip: GitHub records it when the PR is opened or pushed to.
   * One commit per page: only the two commits are read.
   */
  async compareWithBase(baseRef: string, headSha: string): Promise<{ baseSha: string; mergeBaseSha: string }> {
    const { data } = await this.#octokit.rest.repos.compareCommitsWithBasehead({
      owner: this.owner,
      repo: this.repo,
      basehead: `${baseRef}...${headSha}`,
      per_page: 1,
    });
    return { baseSha: data.base_commit.sha, mergeBaseSha: data.merge_base_commit.sha };
  }

  /** The team's permission on this repository (inherited through a parent team too); none when it has no access. */
  async teamPermission(org: string, slug: string): Promise<Permission> {
    try {
      const { data } = await this.#octokit.rest.teams.checkPermissionsForRepoInOrg({
        org,
        team_slug: slug,
        owner: this.owner,
        repo: this.repo,
        mediaType: { format: "repository+json" },
      });
      const permissions = (data as { permissions?: Record<string, boolean> } | undefined)?.permissions;
      if (permissions === undefined) return "none";
      if (permissions.admin) return "admin";
      if (permissions.maintain) return "maintain";
      if (permissions.push) return "write";
      if (permissions.triage) return "triage";
      return permissions.pull ? "read" : "none";
    } catch (error) {
      if (statusOf(error) === 404) return "none";
      throw error;
    }
  }

  async isTeamMember(org: string, slug: string, login: string): Promise<boolean> {
    try {
      const { data } = await this.#octokit.rest.teams.getMembershipForUserInOrg({ org, team_slug: slug, username: login });
      return data.state === "active";
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  async environmentPublicKey(environment: string): Promise<{ keyId: string; key: string }> {
    const { data } = await this.#octokit.rest.actions.getEnvironmentPublicKey({
      owner: this.owner,
      repo: this.repo,
      environment_name: environment,
    });
    return { keyId: data.key_id, key: data.key };
  }

  async putEnvironmentSecret(environment: string, name: string, encryptedValue: string, keyId: string): Promise<void> {
    await this.#octokit.rest.actions.createOrUpdateEnvironmentSecret({
      owner: this.owner,
      repo: this.repo,
      environment_name: environment,
      secret_name: name,
      encrypted_value: encryptedValue,
      key_id: keyId,
    });
  }

  /**
   * Deletes the secret; `absent` when it was already gone. A 404 means gone only while the app
   * can still see the repository (the same one, by id, when the client knows it): when it has
   * lost access (removed from the installation, the repository transferred or deleted), every
   * call answers 404 and the secret may well still be there, so that throws `LostAccessError`
   * instead; so does a name that now belongs to another repository. A 404 for the environment
   * itself, in a repository the app can see, means the environment and its secrets were deleted.
   */
  async deleteEnvironmentSecret(environment: string, name: string): Promise<"deleted" | "absent"> {
    try {
      await this.#octokit.rest.actions.deleteEnvironmentSecret({
        owner: this.owner,
        repo: this.repo,
        environment_name: environment,
        secret_name: name,
      });
      return "deleted";
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      if (!(await this.canSeeRepository())) throw new LostAccessError(this.fullName, { cause: error });
      return "absent";
    }
  }

  /**
   * Whether this installation can still read the repository (false on 404), and the name still
   * leads to the same repository when the client knows its id.
   */
  async canSeeRepository(): Promise<boolean> {
    try {
      const { data } = await this.#octokit.rest.repos.get({ owner: this.owner, repo: this.repo });
      return this.repositoryId === null || data.id === this.repositoryId;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  /**
   * A secret's metadata (`GET …/environments/{env}/secrets/{name}`: never its value), or null when
   * the environment has no secret of that name (404).
   */
  async environmentSecret(environment: string, name: string): Promise<SecretMetadata | null> {
    try {
      const { data } = await this.#octokit.rest.actions.getEnvironmentSecret({
        owner: this.owner,
        repo: this.repo,
        environment_name: environment,
        secret_name: name,
      });
      return secretMetadata(data);
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  /** Every secret of an environment, names and times (never values); none when the environment is not found. */
  async environmentSecrets(environment: string): Promise<SecretMetadata[]> {
    try {
      const secrets = await this.#octokit.paginate(this.#octokit.rest.actions.listEnvironmentSecrets, {
        owner: this.owner,
        repo: this.repo,
        environment_name: environment,
        per_page: 100,
      });
      return secrets.map(secretMetadata);
    } catch (error) {
      if (statusOf(error) === 404) return [];
      throw error;
    }
  }

  async createCheckRun(check: CheckRunInput): Promise<number> {
    const annotations = check.annotations ?? [];
    const { data } = await this.#octokit.rest.checks.create({
      owner: this.owner,
      repo: this.repo,
      name: check.name,
      head_sha: check.headSha,
      status: check.status,
      ...(check.status === "completed" ? { conclusion: check.conclusion, completed_at: new Date().toISOString() } : {}),
      output: {
        title: check.title,
        summary: check.summary,
        ...(check.text ? { text: check.text } : {}),
        annotations: annotations.slice(0, 50),
      },
    });
    // GitHub takes at most 50 annotations a request; the rest go in updates, which append.
    for (let i = 50; i < annotations.length; i += 50) {
      await this.#octokit.rest.checks.update({
        owner: this.owner,
        repo: this.repo,
        check_run_id: data.id,
        output: { title: check.title, summary: check.summary, annotations: annotations.slice(i, i + 50) },
      });
    }
    return data.id;
  }

  async comment(issueNumber: number, body: string): Promise<void> {
    await this.#octokit.rest.issues.createComment({ owner: this.owner, repo: this.repo, issue_number: issueNumber, body });
  }

  /**
   * The newest comment on the issue written by an app (a bot account) whose body contains
   * `marker`, updated at or after `since`; null when there is none. Comments by people never
   * match, whatever they contain.
   */
  async findAppComment(issueNumber: number, marker: string, since: Date): Promise<number | null> {
    const comments = await this.#octokit.paginate(this.#octokit.rest.issues.listComments, {
      owner: this.owner,
      repo: this.repo,
      issue_number: issueNumber,
      since: since.toISOString(),
      per_page: 100,
    });
    const ours = comments.filter((c) => c.user?.type === "Bot" && (c.body ?? "").includes(marker));
    return ours.at(-1)?.id ?? null;
  }

  /** Reacts to a comment on an issue or pull request (acknowledging a comment command). */
  async reactToComment(commentId: number, content: "eyes" | "+1" | "-1" | "confused"): Promise<void> {
    await this.#octokit.rest.reactions.createForIssueComment({ owner: this.owner, repo: this.repo, comment_id: commentId, content });
  }

  async updateComment(commentId: number, body: string): Promise<void> {
    await this.#octokit.rest.issues.updateComment({ owner: this.owner, repo: this.repo, comment_id: commentId, body });
  }

  /**
   * Adds `add` and takes `remove` off, in one write. With nothing to remove that is GitHub's "add
   * labels" (`POST …/issues/{n}/labels`), which keeps every other label. Otherwise it is "set
   * labels" (`PUT …/issues/{n}/labels`), which replaces ALL the labels of the issue: when the
   * PUT's turn in the installation's write lane comes (`atTurn`, run by the pacing plugin of every
   * app Octokit), the labels on it now are read (a read: not paced), and the PUT sends them less
   * `remove`, plus `add`.
   *
   * GitHub has no call that adds and removes labels in one write without replacing the rest, so
   * a label someone adds (or removes) between that read and the PUT — one round trip — is undone.
   * Reading at the PUT's turn, not when it is queued, keeps that window to the round trip, and
   * the app's own earlier label writes on the issue (queued in the same lane) are always seen.
   */
  async changeLabels(issueNumber: number, change: { add: string[]; remove?: string[] }): Promise<void> {
    const remove = new Set((change.remove ?? []).map((name) => name.toLowerCase()));
    if (remove.size === 0) {
      await this.#octokit.rest.issues.addLabels({ owner: this.owner, repo: this.repo, issue_number: issueNumber, labels: change.add });
      return;
    }
    const next = async (): Promise<string[]> => {
      const kept = (await this.labelsOn(issueNumber)).filter((name) => !remove.has(name.toLowerCase()));
      return [...kept, ...change.add.filter((name) => !kept.some((k) => k.toLowerCase() === name.toLowerCase()))];
    };
    const atTurn = async (options: { labels?: unknown }): Promise<void> => {
      // The request's options are shared by every hook down to the one that sends it.
      options.labels = await next();
    };
    // Without the pacing plugin (a benchmark's stock-throttling client) nothing runs `atTurn`:
    // the labels are read before the PUT is queued instead.
    const readsAtTurn = (this.#octokit as unknown as Record<string, unknown>)[RUNS_AT_TURN] === true;
    await this.#octokit.rest.issues.setLabels({
      owner: this.owner,
      repo: this.repo,
      issue_number: issueNumber,
      labels: readsAtTurn ? change.add : await next(),
      ...(readsAtTurn ? { request: { atTurn } } : {}),
    });
  }

  /** The names of the labels on an issue or pull request. */
  async labelsOn(issueNumber: number): Promise<string[]> {
    const labels = await this.#octokit.paginate(this.#octokit.rest.issues.listLabelsOnIssue, {
      owner: this.owner,
      repo: this.repo,
      issue_number: issueNumber,
      per_page: 100,
    });
    return labels.map((label) => label.name);
  }
}

export interface CheckAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  start_column?: number;
  end_column?: number;
  annotation_level: "failure" | "warning" | "notice";
  message: string;
  title?: string;
}

export interface CheckRunInput {
  name: string;
  headSha: string;
  status: "in_progress" | "completed";
  conclusion?: "success" | "failure" | "neutral" | "action_required";
  title: string;
  summary: string;
  text?: string;
  annotations?: CheckAnnotation[];
}
