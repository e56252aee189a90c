/** Read-back views for tests: copies of the simulated state, safe to keep and compare. */
import { pullMergeBase } from "./model/pull-files.js";
import { headShaOf } from "./model/pulls.js";
import { toBase64 } from "./model/sealed-box.js";
import type { SimState } from "./model/state.js";
import type { CheckStatus, ReviewState, SimAnnotation, SimCheckRun, SimComment, SimEnvironment, SimPull, SimRepo } from "./model/types.js";

export interface ReviewView {
  id: number;
  reviewer: string;
  state: ReviewState;
  commitId: string;
  submittedAt: string;
}

export interface PullRequestView {
  number: number;
  title: string;
  state: "open" | "closed";
  merged: boolean;
  author: string;
  headRef: string;
  baseRef: string;
  headSha: string;
  /** `base.sha` as the API reports it: the base tip when the head was last pushed (or the PR opened, retargeted, reopened, merged). */
  baseSha: string;
  /** The merge base of the base branch's current tip and the head: what "Files changed" (`/pulls/{n}/files`) is computed against. */
  mergeBaseSha: string | null;
  fromFork: boolean;
  labels: string[];
  reviews: ReviewView[];
}

export interface CommentView {
  id: number;
  body: string;
  author: string;
  createdAt: string;
  updatedAt: string;
  /** `content by login`, oldest first. */
  reactions: string[];
}

export interface CheckRunView {
  id: number;
  name: string;
  headSha: string;
  status: CheckStatus;
  conclusion: string | null;
  detailsUrl: string | null;
  output: { title: string | null; summary: string | null; text: string | null; annotations: SimAnnotation[] };
}

export interface EnvironmentView {
  id: number;
  name: string;
  keyId: string;
  /** Base64, as `GET .../secrets/public-key` returns it. */
  publicKey: string;
}

export function pullRequestView(state: SimState, repo: SimRepo, pull: SimPull): PullRequestView {
  return {
    number: pull.number,
    title: pull.title,
    state: pull.state,
    merged: pull.merged,
    author: pull.authorLogin,
    headRef: pull.headRef,
    baseRef: pull.baseRef,
    headSha: headShaOf(state, pull),
    baseSha: pull.baseSha,
    mergeBaseSha: pullMergeBase(state, repo, pull) ?? null,
    fromFork: pull.headRepoId !== repo.id,
    labels: pull.labelKeys.map((key) => repo.labels.get(key)?.name ?? key),
    reviews: pull.reviews.map((review) => ({
      id: review.id,
      reviewer: review.reviewerLogin,
      state: review.state,
      commitId: review.commitId,
      submittedAt: review.submittedAt,
    })),
  };
}

export function commentView(comment: SimComment): CommentView {
  return {
    id: comment.id,
    body: comment.body,
    author: comment.authorLogin,
    createdAt: comment.createdAt,
    updatedAt: comment.updatedAt,
    reactions: (comment.reactions ?? []).map((r) => `${r.content} by ${r.userLogin}`),
  };
}

export function checkRunView(run: SimCheckRun): CheckRunView {
  return structuredClone({
    id: run.id,
    name: run.name,
    headSha: run.headSha,
    status: run.status,
    conclusion: run.conclusion,
    detailsUrl: run.detailsUrl,
    output: run.output,
  });
}

export function environmentView(environment: SimEnvironment): EnvironmentView {
  return { id: environment.id, name: environment.name, keyId: environment.keyId, publicKey: toBase64(environment.publicKey) };
}
