/** What a pull request changes: files between the merge base and the head, with line counts. */
import { ancestors, blobSha, commitsBetween, diffTrees, mergeBase } from "./git.js";
import { lineDiff } from "./line-diff.js";
import { baseShaOf, headShaOf } from "./pulls.js";
import type { SimState } from "./state.js";
import type { SimPull, SimRepo } from "./types.js";

export interface PullFile {
  path: string;
  status: "added" | "removed" | "modified";
  /** Blob sha of the file at the head (or at the base, for removed files). */
  sha: string;
  additions: number;
  deletions: number;
  patch: string;
}

/** What "Files changed" shows: the head's files against the merge base of the base branch and the head. */
export function pullFiles(state: SimState, repo: SimRepo, pull: SimPull): PullFile[] {
  const head = headShaOf(state, pull);
  const common = pullMergeBase(state, repo, pull);
  const before = (common === undefined ? undefined : repo.commits.get(common)?.files) ?? new Map<string, string>();
  const after = repo.commits.get(head)?.files ?? new Map<string, string>();
  return fileDifferences(before, after);
}

/** The files that differ between two trees, with line counts and patches, as GitHub lists them. */
export function fileDifferences(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): PullFile[] {
  return diffTrees(before, after).map((difference) => {
    const diff = lineDiff(difference.before, difference.after);
    return {
      path: difference.path,
      status: difference.status,
      sha: blobSha(difference.after ?? difference.before ?? ""),
      additions: diff.additions,
      deletions: diff.deletions,
      patch: diff.patch,
    };
  });
}

/**
 * The merge base of the base branch's current tip and the head. After a merge the base branch
 * contains the head, so the first parent of the merge commit stands in for the base.
 */
export function pullMergeBase(state: SimState, repo: SimRepo, pull: SimPull): string | undefined {
  const head = headShaOf(state, pull);
  const merge = pull.mergeCommitSha === null ? undefined : repo.commits.get(pull.mergeCommitSha);
  const base = merge?.parents[0] ?? baseShaOf(repo, pull);
  return mergeBase(repo.commits, base, head);
}

/** Commits on the head that the base does not have. */
export function pullCommitCount(state: SimState, repo: SimRepo, pull: SimPull): number {
  const common = pullMergeBase(state, repo, pull);
  const head = headShaOf(state, pull);
  return common === undefined ? ancestors(repo.commits, head).size : commitsBetween(repo.commits, common, head).length;
}
