/**
 * Pull request lifecycle on the simulated state: open, push, review, dismiss, edit, close, reopen.
 * These change state only; the simulator delivers the matching webhooks.
 */
import { changesBetween, createCommit, mergeBase, type FileChanges } from "./git.js";
import type { SimState } from "./state.js";
import type { ReviewState, SimPull, SimRepo, SimReview } from "./types.js";

export interface OpenPullInput {
  head: string;
  base?: string;
  author: string;
  /** The head branch lives in the author's fork of the repository. */
  fromFork?: boolean;
  title?: string;
  body?: string | null;
  draft?: boolean;
}

export function requirePull(repo: SimRepo, number: number): SimPull {
  const pull = repo.pulls.get(number);
  if (!pull) throw new Error(`No pull request #${number} in ${repo.fullName}.`);
  return pull;
}

export function headRepoOf(state: SimState, pull: SimPull): SimRepo {
  return state.requireRepoById(pull.headRepoId);
}

/** The head commit: follows the head branch while open, frozen once closed. */
export function headShaOf(state: SimState, pull: SimPull): string {
  if (pull.closedHeadSha !== null) return pull.closedHeadSha;
  const sha = headRepoOf(state, pull).branches.get(pull.headRef);
  if (sha === undefined) throw new Error(`The head branch "${pull.headRef}" of pull request #${pull.number} no longer exists.`);
  return sha;
}

/** The base branch's current tip (which `base.sha` may lag behind; see `SimPull.baseSha`). */
export function baseShaOf(repo: SimRepo, pull: SimPull): string {
  const sha = repo.branches.get(pull.baseRef);
  if (sha === undefined) throw new Error(`The base branch "${pull.baseRef}" of pull request #${pull.number} no longer exists.`);
  return sha;
}

export function openPull(state: SimState, repo: SimRepo, input: OpenPullInput): SimPull {
  const author = state.ensureAccount(input.author);
  const base = input.base ?? repo.defaultBranch;
  if (!repo.branches.has(base)) throw new Error(`Base branch "${base}" does not exist in ${repo.fullName}.`);
  let headRepo = repo;
  if (input.fromFork) {
    headRepo = state.fork(repo, author.login);
    const inBase = repo.branches.get(input.head);
    if (!headRepo.branches.has(input.head) && inBase !== undefined) headRepo.branches.set(input.head, inBase);
  }
  if (!headRepo.branches.has(input.head)) {
    throw new Error(
      `Head branch "${input.head}" does not exist in ${headRepo.fullName}: create it with sim.commit(repo, "${input.head}", files).`,
    );
  }
  const now = state.timestamp();
  const pull: SimPull = {
    id: state.nextId("pull"),
    number: repo.nextIssueNumber,
    title: input.title ?? `Update from ${input.head}`,
    body: input.body ?? null,
    authorLogin: author.login,
    headRepoId: headRepo.id,
    headRef: input.head,
    baseRef: base,
    baseSha: repo.branches.get(base) as string,
    closedHeadSha: null,
    state: "open",
    merged: false,
    mergedAt: null,
    mergedByLogin: null,
    mergeCommitSha: null,
    closedAt: null,
    createdAt: now,
    updatedAt: now,
    draft: input.draft ?? false,
    labelKeys: [],
    reviews: [],
  };
  repo.nextIssueNumber += 1;
  repo.pulls.set(pull.number, pull);
  return pull;
}

export function pushToPull(state: SimState, pull: SimPull, changes: FileChanges, message?: string): { before: string; after: string } {
  if (pull.state !== "open") throw new Error(`Pull request #${pull.number} is closed; reopen it before pushing.`);
  const headRepo = headRepoOf(state, pull);
  const before = headShaOf(state, pull);
  const after = state.commit(headRepo, pull.headRef, changes, { author: pull.authorLogin, ...(message ? { message } : {}) });
  pull.updatedAt = state.timestamp();
  return { before, after };
}

export function addReview(
  state: SimState,
  pull: SimPull,
  input: { reviewer: string; state: Exclude<ReviewState, "DISMISSED">; commitId?: string; body?: string; allowAuthor?: boolean },
): SimReview {
  const reviewer = state.ensureAccount(input.reviewer);
  if (!input.allowAuthor && input.state !== "COMMENTED" && reviewer.login.toLowerCase() === pull.authorLogin.toLowerCase()) {
    throw new Error(
      `GitHub does not let ${reviewer.login} ${input.state === "APPROVED" ? "approve" : "request changes on"} their own pull request; pass allowAuthor: true to simulate it anyway.`,
    );
  }
  const commitId = input.commitId ?? headShaOf(state, pull);
  if (!headRepoOf(state, pull).commits.has(commitId)) throw new Error(`Unknown commit ${commitId} for a review on #${pull.number}.`);
  const review: SimReview = {
    id: state.nextId("review"),
    reviewerLogin: reviewer.login,
    state: input.state,
    body: input.body ?? "",
    commitId,
    submittedAt: state.timestamp(),
  };
  pull.reviews.push(review);
  pull.updatedAt = review.submittedAt;
  return review;
}

export function dismissReview(pull: SimPull, reviewId: number): SimReview {
  const review = pull.reviews.find((r) => r.id === reviewId);
  if (!review) throw new Error(`No review ${reviewId} on pull request #${pull.number}.`);
  if (review.state !== "APPROVED" && review.state !== "CHANGES_REQUESTED") {
    throw new Error(`Review ${reviewId} is ${review.state}; GitHub only dismisses approvals and change requests.`);
  }
  review.state = "DISMISSED";
  return review;
}

export function closePull(state: SimState, repo: SimRepo, pull: SimPull, input: { merged: boolean; by: string }): void {
  if (pull.state !== "open") throw new Error(`Pull request #${pull.number} is already closed.`);
  const head = headShaOf(state, pull);
  const now = state.timestamp();
  if (input.merged) {
    const baseHead = baseShaOf(repo, pull);
    const common = mergeBase(repo.commits, baseHead, head);
    const before = common === undefined ? new Map<string, string>() : (repo.commits.get(common)?.files ?? new Map<string, string>());
    const after = repo.commits.get(head)?.files ?? new Map<string, string>();
    const merge = createCommit(repo.commits, {
      parent: baseHead,
      changes: changesBetween(before, after),
      message: `Merge pull request #${pull.number} from ${headRepoOf(state, pull).owner.login}/${pull.headRef}`,
      authorLogin: state.ensureAccount(input.by).login,
      date: now,
    });
    merge.parents.push(head);
    repo.branches.set(pull.baseRef, merge.sha);
    pull.merged = true;
    pull.mergedAt = now;
    pull.mergedByLogin = state.ensureAccount(input.by).login;
    pull.mergeCommitSha = merge.sha;
    pull.baseSha = baseHead;
  }
  pull.closedHeadSha = head;
  pull.state = "closed";
  pull.closedAt = now;
  pull.updatedAt = now;
}

export function reopenPull(state: SimState, repo: SimRepo, pull: SimPull): void {
  if (pull.state === "open") throw new Error(`Pull request #${pull.number} is already open.`);
  if (pull.merged) throw new Error(`Pull request #${pull.number} was merged; GitHub cannot reopen it.`);
  pull.state = "open";
  pull.closedHeadSha = null;
  pull.baseSha = baseShaOf(repo, pull);
  pull.closedAt = null;
  pull.updatedAt = state.timestamp();
}

export type PullEdit = { title?: string; body?: string | null; base?: string };

/** Applies an edit; returns GitHub's `changes` object for the `edited` webhook. */
export function editPull(state: SimState, repo: SimRepo, pull: SimPull, edit: PullEdit): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  if (edit.title !== undefined && edit.title !== pull.title) {
    changes.title = { from: pull.title };
    pull.title = edit.title;
  }
  if (edit.body !== undefined && edit.body !== pull.body) {
    changes.body = { from: pull.body ?? "" };
    pull.body = edit.body;
  }
  if (edit.base !== undefined && edit.base !== pull.baseRef) {
    if (!repo.branches.has(edit.base)) throw new Error(`Base branch "${edit.base}" does not exist in ${repo.fullName}.`);
    changes.base = { ref: { from: pull.baseRef }, sha: { from: pull.baseSha } };
    pull.baseRef = edit.base;
    pull.baseSha = baseShaOf(repo, pull);
  }
  pull.updatedAt = state.timestamp();
  return changes;
}
