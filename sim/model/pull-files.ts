/** What a pull request changes: files between the merge base and the head, with line counts. */
import { blobSha, diffTrees, mergeBase } from "./git.js";
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

export function pullFiles(state: SimState, repo: SimRepo, pull: SimPull): PullFile[] {
  const head = headShaOf(state, pull);
  const common = comparisonBase(state, repo, pull);
  const before = (common === undefined ? undefined : repo.commits.get(common)?.files) ?? new Map<string, string>();
  const after = repo.commits.get(head)?.files ?? new Map<string, string>();
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
 * The merge base of the base branch and the head. After a merge the base branch contains the
 * head, so the first parent of the merge commit stands in for the base.
 */
function comparisonBase(state: SimState, repo: SimRepo, pull: SimPull): string | undefined {
  const head = headShaOf(state, pull);
  const merge = pull.mergeCommitSha === null ? undefined : repo.commits.get(pull.mergeCommitSha);
  const base = merge?.parents[0] ?? baseShaOf(repo, pull);
  return mergeBase(repo.commits, base, head);
}

/** Commits on the head that the base does not have. */
export function pullCommitCount(state: SimState, repo: SimRepo, pull: SimPull): number {
  const head = headShaOf(state, pull);
  const common = comparisonBase(state, repo, pull);
  let count = 0;
  let cursor: string | undefined = head;
  while (cursor !== undefined && cursor !== common) {
    count += 1;
    cursor = repo.commits.get(cursor)?.parents[0];
  }
  return count;
}
