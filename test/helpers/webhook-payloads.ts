import { createRequire } from "node:module";

/**
 * Webhook payloads built from GitHub's own examples (@octokit/webhooks-examples), with the
 * fields a test cares about overridden. The shapes stay real; only the values change.
 */
const require = createRequire(import.meta.url);
const examples = require("@octokit/webhooks-examples/api.github.com/index.json") as {
  name: string;
  examples: Record<string, unknown>[];
}[];

/**
 * The fields of GitHub's example payloads that a scenario sets or a test reads; every other
 * field of the example is kept as it is.
 */
interface Account {
  login: string;
  id: number;
}

interface Repository {
  id: number;
  name: string;
  full_name: string;
  default_branch: string;
  owner: Account;
}

interface Branch {
  sha: string;
  ref: string;
  repo: Repository;
}

interface PullRequest {
  id: number;
  number: number;
  user: Account;
  head: Branch;
  base: Branch;
  merged: boolean | null;
}

interface Installation {
  id: number;
  node_id: string;
}

export interface PullRequestPayload {
  action: string;
  number: number;
  repository: Repository;
  installation?: Installation;
  pull_request: PullRequest;
  sender: Account;
}

export interface ReviewPayload {
  action: string;
  repository: Repository;
  installation?: Installation;
  pull_request: PullRequest;
  review: { id: number; user: Account; state: string; commit_id: string };
  sender: Account;
}

function example<Payload>(name: string, action: string): Payload {
  const found = examples.find((e) => e.name === name)?.examples.find((e) => e.action === action);
  if (!found) throw new Error(`no ${name}.${action} example in @octokit/webhooks-examples`);
  return structuredClone(found) as Payload;
}

export interface PrScenario {
  owner: string;
  repo: string;
  number: number;
  headSha: string;
  baseSha?: string;
  headRef?: string;
  baseRef?: string;
  author: { id: number; login: string };
  installationId: number;
  merged?: boolean;
}

function applyScenario(payload: PullRequestPayload | ReviewPayload, s: PrScenario): void {
  const fullName = `${s.owner}/${s.repo}`;
  payload.repository.name = s.repo;
  payload.repository.full_name = fullName;
  payload.repository.owner.login = s.owner;
  // As on GitHub, where the default branch is usually main (the examples say master).
  payload.repository.default_branch = "main";
  payload.installation = { id: s.installationId, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" };
  const pr = payload.pull_request;
  pr.number = s.number;
  pr.user = { ...pr.user, login: s.author.login, id: s.author.id };
  pr.head.sha = s.headSha;
  pr.head.ref = s.headRef ?? "request";
  pr.head.repo = { ...payload.repository };
  pr.base.sha = s.baseSha ?? "b".repeat(40);
  pr.base.ref = s.baseRef ?? "main";
  pr.base.repo = { ...payload.repository };
  if (s.merged !== undefined) pr.merged = s.merged;
}

export function pullRequestPayload(action: "opened" | "synchronize" | "reopened" | "closed" | "edited", s: PrScenario): PullRequestPayload {
  const payload = example<PullRequestPayload>("pull_request", action === "edited" ? "opened" : action);
  payload.action = action;
  payload.number = s.number;
  applyScenario(payload, s);
  payload.sender = { ...payload.sender, login: s.author.login, id: s.author.id };
  return payload;
}

export function reviewPayload(
  action: "submitted" | "dismissed",
  s: PrScenario,
  review: {
    id: number;
    reviewer: { id: number; login: string };
    state: "approved" | "changes_requested" | "commented" | "dismissed";
    commitId?: string;
  },
): ReviewPayload {
  const payload = example<ReviewPayload>("pull_request_review", action);
  applyScenario(payload, s);
  payload.review.id = review.id;
  payload.review.user = { ...payload.review.user, login: review.reviewer.login, id: review.reviewer.id };
  payload.review.state = review.state;
  payload.review.commit_id = review.commitId ?? s.headSha;
  payload.sender = { ...payload.sender, login: review.reviewer.login, id: review.reviewer.id };
  return payload;
}
