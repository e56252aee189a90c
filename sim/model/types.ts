/**
 * The simulator's in-memory model of the parts of GitHub the app touches.
 * Entities are plain records; `SimState` owns them and the id sequences.
 */

export type AccountType = "User" | "Organization" | "Bot";

export interface SimAccount {
  id: number;
  login: string;
  type: AccountType;
}

/** Roles a collaborator can hold; the permission API folds them into admin/write/read. */
export type RepoRole = "admin" | "maintain" | "write" | "triage" | "read";

export interface SimCommit {
  sha: string;
  parents: string[];
  /** Full tree: path -> file content (UTF-8 text). */
  files: ReadonlyMap<string, string>;
  message: string;
  authorLogin: string;
  date: string;
}

/** Commits are shared between a repository and its forks, as GitHub's object storage is. */
export type CommitStore = Map<string, SimCommit>;

export interface SimSecret {
  /** Upper-case, as GitHub stores secret names. */
  name: string;
  /** The plaintext, after opening the sealed box. Read-back only; never logged. */
  value: string;
  createdAt: string;
  updatedAt: string;
}

export interface SimEnvironment {
  id: number;
  name: string;
  createdAt: string;
  updatedAt: string;
  keyId: string;
  publicKey: Uint8Array;
  privateKey: Uint8Array;
  secrets: Map<string, SimSecret>;
  /** Custom deployment protection rules (GitHub Apps gating the environment's jobs), keyed by rule id. */
  customRules: Map<number, SimCustomRule>;
  /** The environment's own protection (wait timer, deployment branches), as its admin sets it in the settings. */
  protection: SimEnvironmentProtection;
}

/** An environment's wait timer and deployment branch policy; `null` where unset. */
export interface SimEnvironmentProtection {
  /** Minutes a job waits before it runs. */
  waitTimer: number | null;
  /** Which branches may deploy: protected branches only, or the environment's own branch rules. */
  branchPolicy: "protected_branches" | "custom_branch_policies" | null;
}

/** A GitHub App enabled as an environment's custom deployment protection rule. */
export interface SimCustomRule {
  id: number;
  appId: number;
  appSlug: string;
}

export type WorkflowRunStatus = "queued" | "waiting" | "in_progress" | "completed";

/** One answer a protection rule's app gave for one environment of a run's attempt. */
export interface SimRuleReview {
  attempt: number;
  environment: string;
  appId: number;
  /** Null for a comment without a decision. */
  state: "approved" | "rejected" | null;
  comment: string | null;
  at: string;
}

/** One environment an attempt's job waits on: the apps whose rules have not answered yet. */
export interface SimPendingEnvironment {
  environment: string;
  /** The deployment GitHub created for the job (its id is in the webhook). */
  deploymentId: number;
  waitingFor: Set<number>;
}

export interface SimWorkflowRun {
  id: number;
  name: string;
  /** The workflow file, e.g. `.github/workflows/deploy.yml`. */
  path: string;
  workflowId: number;
  checkSuiteId: number;
  headBranch: string | null;
  headSha: string;
  event: string;
  runNumber: number;
  runAttempt: number;
  actorLogin: string;
  triggeringActorLogin: string;
  status: WorkflowRunStatus;
  conclusion: string | null;
  createdAt: string;
  updatedAt: string;
  /** When the latest attempt started; a re-run resets it. */
  runStartedAt: string;
  /** Environments the run's jobs target, as the workflow names them. */
  environments: string[];
  /** Keyed by lower-cased environment name: what the current attempt still waits for. */
  pending: Map<string, SimPendingEnvironment>;
  reviews: SimRuleReview[];
}

export interface SimLabel {
  id: number;
  name: string;
  color: string;
  description: string | null;
}

export type ReviewState = "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED";

export interface SimReview {
  id: number;
  reviewerLogin: string;
  state: ReviewState;
  body: string;
  commitId: string;
  submittedAt: string;
}

export interface SimPull {
  id: number;
  number: number;
  title: string;
  body: string | null;
  authorLogin: string;
  /** Id of the repository holding the head branch (a fork for fork PRs); ids survive renames. */
  headRepoId: number;
  headRef: string;
  baseRef: string;
  /**
   * The base branch's tip as GitHub reports it in `base.sha`: recorded when the pull request is
   * opened, its head branch is pushed, its base branch is changed, or it is reopened or merged;
   * not when the base branch moves on its own (GitHub's `base.sha` goes stale then).
   */
  baseSha: string;
  /** Head commit when the pull request was closed; while open the head follows its branch. */
  closedHeadSha: string | null;
  state: "open" | "closed";
  merged: boolean;
  mergedAt: string | null;
  mergedByLogin: string | null;
  mergeCommitSha: string | null;
  closedAt: string | null;
  createdAt: string;
  updatedAt: string;
  draft: boolean;
  /** Lower-cased label names, in the order they were added. */
  labelKeys: string[];
  reviews: SimReview[];
}

export interface SimComment {
  id: number;
  issueNumber: number;
  body: string;
  authorLogin: string;
  createdAt: string;
  updatedAt: string;
  /** Reactions to the comment, oldest first (one per user and content, as GitHub keeps them). */
  reactions?: SimReaction[];
}

export interface SimReaction {
  id: number;
  content: string;
  userLogin: string;
  createdAt: string;
}

export interface SimAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  start_column?: number;
  end_column?: number;
  annotation_level: "notice" | "warning" | "failure";
  message: string;
  title?: string;
  raw_details?: string;
}

export type CheckStatus = "queued" | "in_progress" | "completed" | "waiting" | "requested" | "pending";

export interface SimCheckRun {
  id: number;
  checkSuiteId: number;
  name: string;
  headSha: string;
  status: CheckStatus;
  conclusion: string | null;
  detailsUrl: string | null;
  externalId: string | null;
  startedAt: string;
  completedAt: string | null;
  output: {
    title: string | null;
    summary: string | null;
    text: string | null;
    annotations: SimAnnotation[];
  };
}

export interface SimRepo {
  id: number;
  owner: SimAccount;
  name: string;
  fullName: string;
  private: boolean;
  defaultBranch: string;
  fork: boolean;
  /** Id of the repository this one is a fork of. */
  parentId: number | null;
  /** `null`: the app is not installed on this repository. */
  installationId: number | null;
  createdAt: string;
  branches: Map<string, string>;
  commits: CommitStore;
  collaborators: Map<string, RepoRole>;
  /** Keyed by lower-cased name: environment names are case-insensitive on GitHub. */
  environments: Map<string, SimEnvironment>;
  /** Keyed by lower-cased name. */
  labels: Map<string, SimLabel>;
  pulls: Map<number, SimPull>;
  comments: Map<number, SimComment>;
  checkRuns: Map<number, SimCheckRun>;
  nextIssueNumber: number;
  workflowRuns: Map<number, SimWorkflowRun>;
  nextRunNumber: number;
}

export type TeamRole = "member" | "maintainer";

export interface SimTeam {
  id: number;
  org: string;
  slug: string;
  name: string;
  members: Map<string, TeamRole>;
  /** Repository permissions of the team, keyed by repository id (ids survive renames). */
  repos: Map<number, RepoRole>;
}

export interface SimInstallation {
  id: number;
  account: SimAccount;
  permissions: Record<string, "read" | "write" | "admin">;
  createdAt: string;
  /** Set while the installation is suspended. */
  suspendedAt: string | null;
  suspendedByLogin: string | null;
}

export interface SimToken {
  token: string;
  installationId: number;
  expiresAt: Date;
  /** Set by the fault switch `expireTokens`. */
  revoked: boolean;
  /** When the token was narrowed to some repositories: their ids (a rename keeps them covered). */
  repositoryIds: number[] | null;
}
