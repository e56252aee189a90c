/**
 * Webhook payloads: GitHub's example for the event, re-pointed at the simulator's URLs and
 * overlaid with the simulated repository, pull request, review, sender and installation.
 */
import type { SimState } from "../model/state.js";
import type { SimAccount, SimComment, SimPendingEnvironment, SimPull, SimRepo, SimReview, SimWorkflowRun } from "../model/types.js";
import { issueComment } from "../shapes/issue-comment.js";
import { pullRequest } from "../shapes/pull-request.js";
import { repository } from "../shapes/repository.js";
import { pullRequestReview } from "../shapes/review.js";
import { simpleUser } from "../shapes/user.js";
import { jobDeployment } from "../shapes/workflow-run.js";
import { nodeId, type Urls } from "../shapes/urls.js";
import type { WebhookExamples } from "./examples.js";

type Payload = Record<string, unknown>;

export interface PayloadSources {
  urls: Urls;
  state: SimState;
  examples: WebhookExamples;
}

function isPlainObject(value: unknown): value is Payload {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `base` with `override` laid over it: objects merge recursively, everything else replaces. */
export function overlay(base: Payload, override: Payload): Payload {
  const out: Payload = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? overlay(current, value) : value;
  }
  return out;
}

/** Re-points the example's github.com URLs at the simulator. */
function repoint(example: Payload, urls: Urls, fullName: string): Payload {
  const exampleRepo = example.repository as { full_name?: string } | undefined;
  let text = JSON.stringify(example);
  if (exampleRepo?.full_name) {
    text = text
      .split(`https://api.github.com/repos/${exampleRepo.full_name}`)
      .join(`${urls.api}/repos/${fullName}`)
      .split(`https://github.com/${exampleRepo.full_name}`)
      .join(`${urls.web}/${fullName}`);
  }
  text = text.split("https://api.github.com").join(urls.api).split("https://github.com").join(urls.web);
  return JSON.parse(text) as Payload;
}

function organization(urls: Urls, org: SimAccount): Payload {
  const url = `${urls.api}/orgs/${org.login}`;
  return {
    login: org.login,
    id: org.id,
    node_id: nodeId("Organization", org.id),
    url,
    repos_url: `${url}/repos`,
    events_url: `${url}/events`,
    hooks_url: `${url}/hooks`,
    issues_url: `${url}/issues`,
    members_url: `${url}/members{/member}`,
    public_members_url: `${url}/public_members{/member}`,
    avatar_url: `${urls.web}/avatars/u/${org.id}?v=4`,
    description: "",
  };
}

function envelope(sources: PayloadSources, event: string, action: string, repo: SimRepo, senderLogin: string): Payload {
  const { urls } = sources;
  const example = repoint(sources.examples.example(event, action), urls, repo.fullName);
  delete example.organization;
  delete example.installation;
  const common = commonFields(sources, action, repo, senderLogin);
  common.repository = overlay((example.repository as Payload | undefined) ?? {}, common.repository as Payload);
  return { ...example, ...common };
}

/** `action`, `repository`, `sender`, and `organization` and `installation` where there are any. */
function commonFields(sources: PayloadSources, action: string, repo: SimRepo, senderLogin: string): Payload {
  const { urls, state } = sources;
  const common: Payload = {
    action,
    repository: repository(urls, repo),
    sender: simpleUser(urls, state.ensureAccount(senderLogin)),
  };
  if (repo.owner.type === "Organization") common.organization = organization(urls, repo.owner);
  if (repo.installationId !== null)
    common.installation = { id: repo.installationId, node_id: nodeId("IntegrationInstallation", repo.installationId) };
  return common;
}

/**
 * `deployment_protection_rule.requested` for one environment a run's job waits on. GitHub's
 * example deliveries (@octokit/webhooks-examples) have none for this event, so the payload is
 * built to GitHub's schema of it (`webhook-deployment-protection-rule-requested` in
 * @octokit/openapi, which the simulator's tests validate it against), with the job's
 * `deployment` shaped as the example `deployment` delivery's.
 */
export function deploymentProtectionRuleEvent(
  sources: PayloadSources,
  repo: SimRepo,
  run: SimWorkflowRun,
  pending: SimPendingEnvironment,
): Payload {
  const { urls, state } = sources;
  const base = commonFields(sources, "requested", repo, run.triggeringActorLogin);
  const example = repoint(sources.examples.example("deployment", "created"), urls, repo.fullName);
  const deployment = overlay((example.deployment as Payload | undefined) ?? {}, jobDeployment(urls, state, repo, run, pending));
  return {
    action: "requested",
    environment: pending.environment,
    event: run.event,
    sha: run.headSha,
    ref: run.headBranch === null ? run.headSha : `refs/heads/${run.headBranch}`,
    deployment_callback_url: `${urls.api}/repos/${repo.fullName}/actions/runs/${run.id}/deployment_protection_rule`,
    deployment,
    pull_requests: [],
    repository: base.repository,
    ...(base.organization === undefined ? {} : { organization: base.organization }),
    ...(base.installation === undefined ? {} : { installation: base.installation }),
    sender: base.sender,
  };
}

export function pullRequestEvent(
  sources: PayloadSources,
  repo: SimRepo,
  pull: SimPull,
  action: "opened" | "synchronize" | "closed" | "reopened" | "edited",
  senderLogin: string,
  extra: Payload = {},
): Payload {
  const payload = envelope(sources, "pull_request", action, repo, senderLogin);
  const pr = overlay((payload.pull_request as Payload | undefined) ?? {}, pullRequest(sources.urls, sources.state, repo, pull));
  return { ...payload, number: pull.number, pull_request: pr, ...extra };
}

export function pullRequestReviewEvent(
  sources: PayloadSources,
  repo: SimRepo,
  pull: SimPull,
  review: SimReview,
  action: "submitted" | "dismissed",
  senderLogin: string,
): Payload {
  const payload = envelope(sources, "pull_request_review", action, repo, senderLogin);
  const pr = overlay((payload.pull_request as Payload | undefined) ?? {}, pullRequest(sources.urls, sources.state, repo, pull));
  const shape = pullRequestReview(sources.urls, sources.state, repo, pull, review);
  const reviewPayload = overlay((payload.review as Payload | undefined) ?? {}, { ...shape, state: review.state.toLowerCase() });
  return { ...payload, review: reviewPayload, pull_request: pr };
}

/**
 * `issue_comment` on a pull request: GitHub sends the pull request as an issue (with a
 * `pull_request` key holding its links) and the comment in the `issue-comment` shape.
 */
export function issueCommentEvent(
  sources: PayloadSources,
  repo: SimRepo,
  pull: SimPull,
  comment: SimComment,
  action: "created" | "edited" | "deleted",
  senderLogin: string,
): Payload {
  const payload = envelope(sources, "issue_comment", action, repo, senderLogin);
  const pr = pullRequest(sources.urls, sources.state, repo, pull);
  const issue = overlay((payload.issue as Payload | undefined) ?? {}, {
    url: pr.issue_url,
    repository_url: `${sources.urls.api}/repos/${repo.fullName}`,
    labels_url: `${String(pr.issue_url)}/labels{/name}`,
    comments_url: `${String(pr.issue_url)}/comments`,
    events_url: `${String(pr.issue_url)}/events`,
    html_url: pr.html_url,
    id: pull.id,
    node_id: nodeId("PullRequest", pull.id),
    number: pull.number,
    title: pull.title,
    user: pr.user,
    labels: pr.labels,
    state: pull.state,
    locked: false,
    assignee: null,
    assignees: [],
    milestone: null,
    comments: pr.comments,
    created_at: pull.createdAt,
    updated_at: pull.updatedAt,
    closed_at: pull.closedAt,
    author_association: pr.author_association,
    active_lock_reason: null,
    body: pull.body,
    pull_request: { url: pr.url, html_url: pr.html_url, diff_url: pr.diff_url, patch_url: pr.patch_url, merged_at: pull.mergedAt },
  });
  const shape = issueComment(sources.urls, sources.state, repo, comment);
  return { ...payload, issue, comment: overlay((payload.comment as Payload | undefined) ?? {}, shape) };
}
