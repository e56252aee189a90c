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

function example(name: string, action: string): Record<string, any> {
  const found = examples.find((e) => e.name === name)?.examples.find((e) => e.action === action);
  if (!found) throw new Error(`no ${name}.${action} example in @octokit/webhooks-examples`);
  return structuredClone(found) as Record<string, any>;
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

function applyScenario(payload: Record<string, any>, s: PrScenario): void {
  const fullName = `${s.owner}/${s.repo}`;
  payload.repository.name = s.repo;
  payload.repository.full_name = fullName;
  payload.repository.owner.login = s.owner;
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

export function pullRequestPayload(action: "opened" | "synchronize" | "reopened" | "closed" | "edited", s: PrScenario): Record<string, any> {
  const payload = example("pull_request", action === "edited" ? "opened" : action);
  payload.action = action;
  payload.number = s.number;
  applyScenario(payload, s);
  payload.sender = { ...payload.sender, login: s.author.login, id: s.author.id };
  return payload;
}

export function reviewPayload(
  action: "submitted" | "dismissed",
  s: PrScenario,
  review: { id: number; reviewer: { id: number; login: string }; state: "approved" | "changes_requested" | "commented" | "dismissed"; commitId?: string },
): Record<string, any> {
  const payload = example("pull_request_review", action);
  applyScenario(payload, s);
  payload.review.id = review.id;
  payload.review.user = { ...payload.review.user, login: review.reviewer.login, id: review.reviewer.id };
  payload.review.state = review.state;
  payload.review.commit_id = review.commitId ?? s.headSha;
  payload.sender = { ...payload.sender, login: review.reviewer.login, id: review.reviewer.id };
  return payload;
}
