/**
 * The scripting API of the local GitHub simulator: build repositories, pull requests and
 * reviews, deliver the matching webhooks to the app, and read back what the app did.
 * Start one with `startSimulator` (start-simulator.ts).
 */
import { EventEmitter } from "node:events";
import type { AppAuth } from "./app-auth.js";
import type { FaultSwitches } from "./faults.js";
import { mergeBase, resolveRef, type FileChanges } from "./model/git.js";
import {
  addReview,
  closePull,
  dismissReview,
  editPull,
  openPull,
  pushToPull,
  reopenPull,
  requirePull,
  type OpenPullInput,
  type PullEdit,
} from "./model/pulls.js";
import type { CreateRepoOptions, ManifestCode, SimState } from "./model/state.js";
import type {
  AccountType,
  RepoRole,
  ReviewState,
  SimEnvironmentProtection,
  SimInstallation,
  SimPull,
  SimRepo,
  SimWorkflowRun,
  TeamRole,
} from "./model/types.js";
import { completeRun, enableRule, rerun, rulesOf, startRun, type StartRunInput } from "./model/workflow-runs.js";
import type { RecordedRequest, Violation } from "./server/handle-request.js";
import type { Latency, LatencySetting } from "./server/latency.js";
import type { RateLimitSetting, RateLimitState, RateLimits } from "./server/rate-limit.js";
import type { Urls } from "./shapes/urls.js";
import {
  checkRunView,
  commentView,
  environmentView,
  pullRequestView,
  type CheckRunView,
  type CommentView,
  type EnvironmentView,
  type PullRequestView,
} from "./views.js";
import type { Delivery, RawDelivery, SpreadOptions, WebhookDelivery } from "./webhooks/delivery.js";
import type { WebhookExamples } from "./webhooks/examples.js";
import {
  deploymentProtectionRuleEvent,
  issueCommentEvent,
  pullRequestEvent,
  pullRequestReviewEvent,
  type PayloadSources,
} from "./webhooks/payloads.js";

/** `deliver: false` records the webhook (for `redeliver`) without sending it. */
export interface DeliverOption {
  deliver?: boolean;
}

export interface WaitForOptions {
  /** Default 5000. */
  timeoutMs?: number;
  /** Polling interval; the predicate is also re-checked after every API request. Default 25. */
  intervalMs?: number;
  /** Says what was awaited, in the timeout error. */
  description?: string;
}

export interface SimulatorParts {
  state: SimState;
  urls: Urls;
  auth: AppAuth;
  faults: FaultSwitches;
  webhooks: WebhookDelivery;
  examples: WebhookExamples;
  requests: RecordedRequest[];
  violations: Violation[];
  changes: EventEmitter;
  privateKeyPem: string;
  rateLimits: RateLimits;
  latency: Latency;
  close(): Promise<void>;
}

/** A repository as the simulator holds it now (see `sim.repository`). */
export interface RepositoryView {
  id: number;
  fullName: string;
  owner: string;
  name: string;
  defaultBranch: string;
  private: boolean;
  /** The installation covering it, or null. */
  installationId: number | null;
}

/** A workflow run as the simulator holds it now (see `sim.workflowRun`). */
export interface WorkflowRunView {
  id: number;
  status: SimWorkflowRun["status"];
  conclusion: string | null;
  runAttempt: number;
  actor: string;
  triggeringActor: string;
  runStartedAt: string;
  /** Environments the current attempt still waits on. */
  pending: string[];
  /** Every answer a protection rule's app gave, oldest first. */
  reviews: {
    attempt: number;
    environment: string;
    appId: number;
    state: "approved" | "rejected" | null;
    comment: string | null;
    at: string;
  }[];
}

/** An installation of the app (see `sim.installation`). */
export interface InstallationView {
  id: number;
  account: string;
  suspended: boolean;
  suspendedAt: string | null;
  /** Full names of the repositories it covers, sorted. */
  repositories: string[];
}

export class GitHubSimulator {
  /** e.g. "http://127.0.0.1:3001" */
  readonly baseUrl: string;
  /** e.g. "127.0.0.1:3001": the app's GHE_HOST (with GHE_PROTOCOL=http). */
  readonly host: string;
  /** e.g. "http://127.0.0.1:3001/api/v3": Octokit's baseUrl. */
  readonly apiUrl: string;
  readonly appId: number;
  readonly privateKeyPem: string;
  /** Fault switches for API requests, and `expireTokens`. */
  readonly faults: FaultSwitches;
  /** Every API request, in arrival order (no bodies). */
  readonly requests: readonly RecordedRequest[];
  /** Requests that do not follow GitHub's REST description, or that the simulator does not serve. */
  readonly violations: readonly Violation[];
  /** The most recent webhook delivery made by a scripting call. */
  lastDelivery: Delivery | undefined;

  private readonly state: SimState;
  private readonly parts: SimulatorParts;

  constructor(parts: SimulatorParts) {
    this.parts = parts;
    this.state = parts.state;
    this.baseUrl = parts.urls.web;
    this.host = new URL(parts.urls.web).host;
    this.apiUrl = parts.urls.api;
    this.appId = parts.state.app.id;
    this.privateKeyPem = parts.privateKeyPem;
    this.faults = parts.faults;
    this.requests = parts.requests;
    this.violations = parts.violations;
  }

  /** The login of the app's bot user, which authors its comments (e.g. `jit-access[bot]`). */
  get botLogin(): string {
    return this.state.botAccount().login;
  }

  /** The secret webhooks are signed with: the one given at start, or the app's since it was registered from a manifest. */
  get webhookSecret(): string {
    return this.parts.webhooks.secret;
  }

  /**
   * Codes handed out by the manifest flow's `/settings/apps/new` (newest last), with the
   * manifest each registered and whether it was exchanged.
   */
  get manifestCodes(): ReadonlyArray<ManifestCode> {
    return [...this.state.manifestCodes.values()];
  }

  /** Makes every manifest code not yet exchanged expire, as an hour's wait would. */
  expireManifestCodes(): void {
    for (const code of this.state.manifestCodes.values()) code.createdAt = Number.NEGATIVE_INFINITY;
  }

  /** The environment for the app process (`npm start`) to use this simulator. */
  appEnv(): Record<string, string> {
    return {
      APP_ID: String(this.appId),
      PRIVATE_KEY: this.privateKeyPem,
      WEBHOOK_SECRET: this.webhookSecret,
      GHE_HOST: this.host,
      GHE_PROTOCOL: "http",
    };
  }

  setWebhookUrl(url: string): void {
    this.parts.webhooks.setUrl(url);
  }

  /**
   * Spreads deliveries over several app replicas in turn; with `twiceEvery: k` every k-th one is
   * posted to two of them at once (see `WebhookDelivery.setUrls`). `setWebhookUrl` undoes it.
   */
  setWebhookUrls(urls: readonly string[], options: SpreadOptions = {}): void {
    this.parts.webhooks.setUrls(urls, options);
  }

  // ---------------------------------------------------------------- accounts and repositories

  addUser(login: string, options: { type?: Exclude<AccountType, "Organization"> } = {}): { id: number; login: string } {
    const account = this.state.ensureAccount(login, options.type ?? "User");
    return { id: account.id, login: account.login };
  }

  createRepo(fullName: string, options: CreateRepoOptions = {}): { id: number; fullName: string; installationId: number | null } {
    const repo = this.state.createRepo(fullName, options);
    return { id: repo.id, fullName: repo.fullName, installationId: repo.installationId };
  }

  /** Sets (or with `null` removes) a collaborator's role. */
  setCollaborator(repo: string, login: string, role: RepoRole | null): void {
    this.state.setCollaborator(this.state.requireRepo(repo), login, role);
  }

  /** Moves a repository to another installation, or uninstalls the app from it (`null`). */
  setInstallation(repo: string, installationId: number | null): void {
    this.state.install(this.state.requireRepo(repo), installationId);
  }

  /**
   * Takes a repository out of its installation (GitHub: the installation's "selected
   * repositories" no longer include it). Installation tokens then get 404 on its endpoints and
   * a token can no longer be scoped to it (422). Sends no webhook.
   */
  removeRepoFromInstallation(repo: string): void {
    const target = this.state.requireRepo(repo);
    if (target.installationId === null) throw new Error(`${target.fullName} is not in any installation.`);
    this.state.install(target, null);
  }

  /**
   * Suspends an installation: creating a token for it answers 403 "This installation has been
   * suspended", requests with its existing tokens answer the same 403, and webhooks for its
   * repositories are recorded but not sent. Sends no webhook itself.
   */
  suspendInstallation(installationId: number, options: { by?: string } = {}): void {
    this.state.suspendInstallation(installationId, options.by);
  }

  unsuspendInstallation(installationId: number): void {
    this.state.unsuspendInstallation(installationId);
  }

  /**
   * Deletes (uninstalls) an installation: its tokens are revoked (401 "Bad credentials"),
   * creating a token answers 404, and its repositories are covered by no installation.
   */
  deleteInstallation(installationId: number): void {
    this.state.deleteInstallation(installationId);
    this.parts.auth.expireTokens(installationId);
  }

  installation(installationId: number): InstallationView | undefined {
    const found = this.state.installations.get(installationId);
    if (!found) return undefined;
    return {
      id: found.id,
      account: found.account.login,
      suspended: found.suspendedAt !== null,
      suspendedAt: found.suspendedAt,
      repositories: this.state
        .reposOfInstallation(found.id)
        .map((repo) => repo.fullName)
        .sort(),
    };
  }

  /**
   * Renames a repository ("acme/api2" or just "api2"; the owner stays). The id stays; the API
   * answers the old name with a redirect to `/repositories/{id}/…` (301 for GET, 307 otherwise)
   * until a repository is created under it; webhooks carry the new name. Sends no webhook.
   */
  renameRepo(repo: string, newName: string): RepositoryView {
    const target = this.state.requireRepo(repo);
    this.state.renameRepo(target, newName);
    return this.repositoryView(target.id);
  }

  /**
   * Transfers a repository to another account (created as an organisation if new), optionally
   * under a new `name`. The id stays and the old name redirects as for a rename; teams of the
   * former owner lose access. It stays covered only by an installation on the new owner: by
   * default the new owner's existing installation, if any, else none (`installationId` picks one,
   * `null` none). Sends no webhook.
   */
  transferRepo(
    repo: string,
    newOwner: string,
    options: { name?: string; installationId?: number | null; ownerType?: "User" | "Organization" } = {},
  ): RepositoryView {
    const target = this.state.requireRepo(repo);
    this.state.transferRepo(target, newOwner, options);
    return this.repositoryView(target.id);
  }

  /** A repository by current full name or by id; undefined if there is none (a former name finds nothing). */
  repository(nameOrId: string | number): RepositoryView | undefined {
    const found = typeof nameOrId === "number" ? this.state.repoById(nameOrId) : this.state.repo(nameOrId);
    return found ? this.repositoryView(found.id) : undefined;
  }

  // ---------------------------------------------------------------- rate limits and latency

  /**
   * Puts an installation's primary rate limit where a test needs it. `limit` (requests an hour,
   * default the current one, initially 5000) is kept across resets; `remaining` defaults to the
   * current count; `resetAt` (Date or epoch ms, default the current window's end) is when the
   * budget is renewed. At 0 remaining every request with the installation's tokens answers 403
   * "API rate limit exceeded for installation ID …" with `x-ratelimit-remaining: 0`.
   */
  setRateLimit(installationId: number, setting: RateLimitSetting): RateLimitState {
    return this.parts.rateLimits.set({ kind: "installation", installationId }, setting);
  }

  /** An installation's primary rate limit budget now: { limit, remaining, used, resetAt }. */
  rateLimit(installationId: number): RateLimitState {
    return this.parts.rateLimits.state({ kind: "installation", installationId });
  }

  /**
   * Delays every API request by `latencyMs` ± `jitterMs` before it is handled (real timers).
   * Replaces both values (an omitted one becomes 0); 0 and 0 switch the delay off.
   */
  setLatency(setting: LatencySetting): void {
    this.parts.latency.set(setting);
  }

  /** Sets (or with `null` removes) a team's role on a repository of its organisation. */
  setTeamRepoPermission(org: string, slug: string, repo: string, role: RepoRole | null): void {
    this.state.setTeamRepoPermission(this.state.requireTeam(org, slug), this.state.requireRepo(repo), role);
  }

  createTeam(org: string, slug: string, members: string[] | Record<string, TeamRole> = []): { id: number; slug: string } {
    const team = this.state.createTeam(org, slug, members);
    return { id: team.id, slug: team.slug };
  }

  setTeamMember(org: string, slug: string, login: string, role: TeamRole | null): void {
    const team = this.state.requireTeam(org, slug);
    const account = this.state.ensureAccount(login);
    if (role === null) team.members.delete(account.login.toLowerCase());
    else team.members.set(account.login.toLowerCase(), role);
  }

  /**
   * Commits file changes (`null` deletes a file) to `branch`, creating the branch from
   * `options.from` (default: the default branch) if needed; `orphan: true` starts a new branch
   * with no history (only `files`). Returns the new commit sha.
   * Delivers nothing: use `pushToPullRequest` to also send `synchronize`.
   */
  commit(
    repo: string,
    branch: string,
    files: FileChanges,
    options: { from?: string; message?: string; author?: string; orphan?: boolean } = {},
  ): string {
    return this.state.commit(this.state.requireRepo(repo), branch, files, options);
  }

  /** The sha a branch points at, or undefined. */
  branchSha(repo: string, branch: string): string | undefined {
    return this.state.requireRepo(repo).branches.get(branch);
  }

  /** The merge base of two branches or commits of a repository (as the compare API reports it), or undefined. */
  mergeBase(repo: string, a: string, b: string): string | undefined {
    const target = this.state.requireRepo(repo);
    const first = resolveRef(target, a);
    const second = resolveRef(target, b);
    if (!first || !second) throw new Error(`Unknown ref "${first ? b : a}" in ${target.fullName}.`);
    return mergeBase(target.commits, first.sha, second.sha);
  }

  /** A file's content at a branch or commit, or undefined. */
  fileAt(repo: string, ref: string, path: string): string | undefined {
    return resolveRef(this.state.requireRepo(repo), ref)?.files.get(path);
  }

  // ---------------------------------------------------------------- pull requests (with webhooks)

  /** Opens a pull request and delivers `pull_request.opened`; returns its number. */
  async openPullRequest(repo: string, input: OpenPullInput & DeliverOption): Promise<number> {
    const target = this.state.requireRepo(repo);
    const pull = openPull(this.state, target, input);
    await this.sendPullRequestEvent(target, pull, "opened", pull.authorLogin, {}, input);
    return pull.number;
  }

  /** Commits to the pull request's head branch and delivers `synchronize`; returns the new head sha. */
  async pushToPullRequest(
    repo: string,
    number: number,
    files: FileChanges,
    options: { message?: string } & DeliverOption = {},
  ): Promise<string> {
    const target = this.state.requireRepo(repo);
    const pull = requirePull(target, number);
    const { before, after } = pushToPull(this.state, pull, files, options.message);
    await this.sendPullRequestEvent(target, pull, "synchronize", pull.authorLogin, { before, after }, options);
    return after;
  }

  /**
   * Submits a review (on the current head unless `commitId` is given) and delivers
   * `pull_request_review.submitted`; returns the review id.
   */
  async submitReview(
    repo: string,
    number: number,
    input: {
      reviewer: string;
      state: Exclude<ReviewState, "DISMISSED">;
      commitId?: string;
      body?: string;
      allowAuthor?: boolean;
    } & DeliverOption,
  ): Promise<number> {
    const target = this.state.requireRepo(repo);
    const pull = requirePull(target, number);
    const review = addReview(this.state, pull, input);
    const payload = pullRequestReviewEvent(this.sources(), target, pull, review, "submitted", review.reviewerLogin);
    this.lastDelivery = await this.parts.webhooks.send("pull_request_review", payload, this.sends(target, input));
    return review.id;
  }

  /**
   * `author` comments on the pull request (through the issues API, as people do) and
   * `issue_comment.created` is delivered; `edit` then changes a comment and delivers
   * `issue_comment.edited`. Returns the comment's id.
   */
  async commentOnPullRequest(
    repo: string,
    number: number,
    input: { author: string; body: string; edit?: number } & DeliverOption,
  ): Promise<number> {
    const target = this.state.requireRepo(repo);
    const pull = requirePull(target, number);
    const now = this.state.timestamp();
    let comment = input.edit === undefined ? undefined : target.comments.get(input.edit);
    if (input.edit !== undefined && comment === undefined) throw new Error(`no comment ${input.edit} on ${repo}`);
    if (comment) {
      comment.body = input.body;
      comment.updatedAt = now;
    } else {
      this.state.ensureAccount(input.author);
      comment = {
        id: this.state.nextId("comment"),
        issueNumber: number,
        body: input.body,
        authorLogin: input.author,
        createdAt: now,
        updatedAt: now,
      };
      target.comments.set(comment.id, comment);
    }
    const payload = issueCommentEvent(this.sources(), target, pull, comment, input.edit === undefined ? "created" : "edited", input.author);
    this.lastDelivery = await this.parts.webhooks.send("issue_comment", payload, this.sends(target, input));
    return comment.id;
  }

  /** Dismisses a review and delivers `pull_request_review.dismissed`. */
  async dismissReview(repo: string, number: number, reviewId: number, options: { by?: string } & DeliverOption = {}): Promise<void> {
    const target = this.state.requireRepo(repo);
    const pull = requirePull(target, number);
    const review = dismissReview(pull, reviewId);
    const payload = pullRequestReviewEvent(this.sources(), target, pull, review, "dismissed", options.by ?? target.owner.login);
    this.lastDelivery = await this.parts.webhooks.send("pull_request_review", payload, this.sends(target, options));
  }

  /** Edits title, body or base and delivers `pull_request.edited` with GitHub's `changes`. */
  async editPullRequest(repo: string, number: number, edit: PullEdit & DeliverOption & { by?: string }): Promise<void> {
    const target = this.state.requireRepo(repo);
    const pull = requirePull(target, number);
    const changes = editPull(this.state, target, pull, edit);
    await this.sendPullRequestEvent(target, pull, "edited", edit.by ?? pull.authorLogin, { changes }, edit);
  }

  /** Closes (or merges, creating a merge commit on the base) and delivers `pull_request.closed`. */
  async closePullRequest(repo: string, number: number, input: { merged: boolean; by?: string } & DeliverOption): Promise<void> {
    const target = this.state.requireRepo(repo);
    const pull = requirePull(target, number);
    const by = input.by ?? pull.authorLogin;
    closePull(this.state, target, pull, { merged: input.merged, by });
    await this.sendPullRequestEvent(target, pull, "closed", by, {}, input);
  }

  async reopenPullRequest(repo: string, number: number, options: { by?: string } & DeliverOption = {}): Promise<void> {
    const target = this.state.requireRepo(repo);
    const pull = requirePull(target, number);
    reopenPull(this.state, target, pull);
    await this.sendPullRequestEvent(target, pull, "reopened", options.by ?? pull.authorLogin, {}, options);
  }

  // ---------------------------------------------------------------- environments

  addEnvironment(repo: string, name: string): EnvironmentView {
    return environmentView(this.state.addEnvironment(this.state.requireRepo(repo), name));
  }

  /** Deletes an environment and its secrets; the app's next call for it gets 404. */
  deleteEnvironment(repo: string, name: string): void {
    const target = this.state.requireRepo(repo);
    this.state.requireEnvironment(target, name);
    target.environments.delete(name.toLowerCase());
  }

  /** Replaces the environment's key pair; returns the new key id. Values sealed for the old key get 422. */
  rotateEnvironmentKey(repo: string, name: string): string {
    return this.state.rotateEnvironmentKey(this.state.requireEnvironment(this.state.requireRepo(repo), name));
  }

  /** Puts a secret straight into an environment (e.g. a leftover for reconcile tests). */
  setSecret(repo: string, environment: string, name: string, value: string): void {
    const target = this.state.requireEnvironment(this.state.requireRepo(repo), environment);
    const now = this.state.timestamp();
    const key = name.toUpperCase();
    target.secrets.set(key, { name: key, value, createdAt: target.secrets.get(key)?.createdAt ?? now, updatedAt: now });
  }

  /**
   * Enables an app (default: this app) as a custom deployment protection rule of an environment,
   * as its admin does in the settings; returns the rule's id. Jobs that target the environment
   * then wait for the app's answer.
   */
  enableProtectionRule(repo: string, environment: string, app: { id: number; slug: string } = this.state.app): number {
    return enableRule(this.state, this.state.requireEnvironment(this.state.requireRepo(repo), environment), app).id;
  }

  /**
   * Sets an environment's own protection, as its admin does in the settings: a wait timer in
   * minutes and/or a deployment branch policy (`null` clears one). The environment's
   * `protection_rules` and `deployment_branch_policy` then show them, as GitHub's do.
   */
  protectEnvironment(repo: string, environment: string, protection: Partial<SimEnvironmentProtection>): void {
    const target = this.state.requireEnvironment(this.state.requireRepo(repo), environment);
    target.protection = { ...target.protection, ...protection };
  }

  /** The environment's custom deployment protection rules. */
  protectionRules(repo: string, environment: string): { id: number; appId: number; appSlug: string }[] {
    return rulesOf(this.state.requireEnvironment(this.state.requireRepo(repo), environment)).map((rule) => ({ ...rule }));
  }

  /** Replaces an installation's permissions (e.g. `{ ..., administration: "write" }`); only the rule endpoints enforce them. */
  setInstallationPermissions(installationId: number, permissions: SimInstallation["permissions"]): void {
    this.state.requireInstallation(installationId).permissions = { ...permissions };
  }

  // ---------------------------------------------------------------- workflow runs (with webhooks)

  /**
   * Starts a workflow run by `actor` whose jobs target `environments`. A job in an environment
   * with custom deployment protection rules waits (`status: waiting`), and this app, when it is
   * one of them, gets `deployment_protection_rule.requested` for it. Returns the run id.
   */
  async startWorkflowRun(repo: string, input: StartRunInput & DeliverOption): Promise<number> {
    const target = this.state.requireRepo(repo);
    const run = startRun(this.state, target, input);
    await this.sendProtectionRuleEvents(target, run, input);
    return run.id;
  }

  /** Re-runs a completed run as `by`: a new attempt that waits for the rules again, with new deliveries. */
  async rerunWorkflowRun(repo: string, runId: number, options: { by: string } & DeliverOption): Promise<void> {
    const target = this.state.requireRepo(repo);
    rerun(this.state, target, this.requireRun(target, runId), options.by);
    await this.sendProtectionRuleEvents(target, this.requireRun(target, runId), options);
  }

  /** Ends a run that is not waiting (its jobs are done), e.g. before it is re-run. */
  completeWorkflowRun(repo: string, runId: number, conclusion: "success" | "failure" | "cancelled" = "success"): void {
    completeRun(this.state, this.requireRun(this.state.requireRepo(repo), runId), conclusion);
  }

  /** The `deployment_protection_rule.requested` payload for a job the run waits on, to send with changes through `deliver`. */
  deploymentProtectionRulePayload(repo: string, runId: number, environment: string): Record<string, unknown> {
    const target = this.state.requireRepo(repo);
    const run = this.requireRun(target, runId);
    const pending = run.pending.get(environment.toLowerCase());
    if (!pending) throw new Error(`Run ${runId} does not wait on environment "${environment}".`);
    return deploymentProtectionRuleEvent(this.sources(), target, run, pending);
  }

  workflowRun(repo: string, runId: number): WorkflowRunView {
    const run = this.requireRun(this.state.requireRepo(repo), runId);
    return {
      id: run.id,
      status: run.status,
      conclusion: run.conclusion,
      runAttempt: run.runAttempt,
      actor: run.actorLogin,
      triggeringActor: run.triggeringActorLogin,
      runStartedAt: run.runStartedAt,
      pending: [...run.pending.values()].map((pending) => pending.environment),
      reviews: run.reviews.map((review) => ({ ...review })),
    };
  }

  // ---------------------------------------------------------------- read-backs

  environment(repo: string, name: string): EnvironmentView | undefined {
    const found = this.state.environment(this.state.requireRepo(repo), name);
    return found ? environmentView(found) : undefined;
  }

  /** The plaintext the app stored (opened from its sealed box), or undefined. */
  secretValue(repo: string, environment: string, name: string): string | undefined {
    return this.state.requireEnvironment(this.state.requireRepo(repo), environment).secrets.get(name.toUpperCase())?.value;
  }

  secretNames(repo: string, environment: string): string[] {
    return [...this.state.requireEnvironment(this.state.requireRepo(repo), environment).secrets.keys()].sort();
  }

  pullRequest(repo: string, number: number): PullRequestView {
    const target = this.state.requireRepo(repo);
    return pullRequestView(this.state, target, requirePull(target, number));
  }

  comments(repo: string, number: number): CommentView[] {
    const target = this.state.requireRepo(repo);
    requirePull(target, number);
    return [...target.comments.values()]
      .filter((comment) => comment.issueNumber === number)
      .sort((a, b) => a.id - b.id)
      .map(commentView);
  }

  labels(repo: string, number: number): string[] {
    return this.pullRequest(repo, number).labels;
  }

  /** Check runs, oldest first; filtered by head sha and/or name. */
  checkRuns(repo: string, filter: { headSha?: string; name?: string } = {}): CheckRunView[] {
    return [...this.state.requireRepo(repo).checkRuns.values()]
      .filter((run) => filter.headSha === undefined || run.headSha === filter.headSha)
      .filter((run) => filter.name === undefined || run.name === filter.name)
      .sort((a, b) => a.id - b.id)
      .map(checkRunView);
  }

  // ---------------------------------------------------------------- webhooks

  get deliveries(): readonly Delivery[] {
    return this.parts.webhooks.deliveries;
  }

  /** Delivers any event with a payload of your own (e.g. `installation`). */
  async deliver(event: string, payload: Record<string, unknown>, options: DeliverOption = {}): Promise<Delivery> {
    this.lastDelivery = await this.parts.webhooks.send(event, payload, options.deliver ?? true);
    return this.lastDelivery;
  }

  /** Sends a recorded delivery again, same body and delivery id; returns it with the new status. */
  /**
   * Sets what every delivery the app answered with 2xx waits for before it resolves (see
   * `WebhookDelivery.settled`); null: nothing.
   */
  waitAfterDeliveries(wait: ((delivery: Delivery) => Promise<void>) | null): void {
    this.parts.webhooks.settled = wait;
  }

  redeliver(deliveryId: string): Promise<Delivery> {
    return this.parts.webhooks.redeliver(deliveryId);
  }

  /** Posts a raw body (e.g. with a wrong `signature`); returns the app's HTTP status. */
  deliverRaw(raw: RawDelivery): Promise<number> {
    return this.parts.webhooks.sendRaw(raw);
  }

  // ---------------------------------------------------------------- waiting and shutdown

  /**
   * Resolves with the predicate's first truthy value, re-checking after every API request and
   * every `intervalMs`; rejects after `timeoutMs` (default 5000).
   */
  async waitFor<T>(predicate: () => T | Promise<T>, options: WaitForOptions = {}): Promise<NonNullable<T>> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const intervalMs = options.intervalMs ?? 25;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await predicate();
      if (value) return value;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(`sim.waitFor timed out after ${timeoutMs} ms${options.description ? ` waiting for ${options.description}` : ""}.`);
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.parts.changes.off("change", done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(intervalMs, remaining));
        this.parts.changes.on("change", done);
      });
    }
  }

  close(): Promise<void> {
    return this.parts.close();
  }

  // ---------------------------------------------------------------- internals

  private sources(): PayloadSources {
    return { urls: this.parts.urls, state: this.state, examples: this.parts.examples };
  }

  private async sendPullRequestEvent(
    repo: SimRepo,
    pull: SimPull,
    action: "opened" | "synchronize" | "closed" | "reopened" | "edited",
    sender: string,
    extra: Record<string, unknown>,
    options: DeliverOption,
  ): Promise<void> {
    const payload = pullRequestEvent(this.sources(), repo, pull, action, sender, extra);
    this.lastDelivery = await this.parts.webhooks.send("pull_request", payload, this.sends(repo, options));
  }

  /** Whether a scripting call's webhook is sent: not when asked not to, nor while GitHub blocks it (a suspended installation). */
  private sends(repo: SimRepo, options: DeliverOption): boolean {
    const installation = repo.installationId === null ? undefined : this.state.installations.get(repo.installationId);
    return (options.deliver ?? true) && installation?.suspendedAt == null;
  }

  private requireRun(repo: SimRepo, runId: number): SimWorkflowRun {
    const run = repo.workflowRuns.get(runId);
    if (!run) throw new Error(`No workflow run ${runId} in ${repo.fullName}.`);
    return run;
  }

  /** One delivery per environment the run waits on for this app's rule. */
  private async sendProtectionRuleEvents(repo: SimRepo, run: SimWorkflowRun, options: DeliverOption): Promise<void> {
    for (const pending of run.pending.values()) {
      if (!pending.waitingFor.has(this.state.app.id)) continue;
      const payload = deploymentProtectionRuleEvent(this.sources(), repo, run, pending);
      this.lastDelivery = await this.parts.webhooks.send("deployment_protection_rule", payload, this.sends(repo, options));
    }
  }

  private repositoryView(id: number): RepositoryView {
    const repo = this.state.requireRepoById(id);
    return {
      id: repo.id,
      fullName: repo.fullName,
      owner: repo.owner.login,
      name: repo.name,
      defaultBranch: repo.defaultBranch,
      private: repo.private,
      installationId: repo.installationId,
    };
  }
}
