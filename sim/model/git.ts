/**
 * Just enough of git for pull requests: commits with full trees, refs, merge bases and
 * changed files. Blob shas are real git blob ids; commit shas are unique 40-hex ids.
 */
import { createHash, randomUUID } from "node:crypto";
import type { CommitStore, SimCommit, SimRepo } from "./types.js";

/** A file change: new content, or `null` to delete the file. */
export type FileChanges = Record<string, string | null>;

export function blobSha(content: string): string {
  const bytes = Buffer.from(content, "utf8");
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

export function createCommit(
  commits: CommitStore,
  input: { parent: string | null; changes: FileChanges; message: string; authorLogin: string; date: string },
): SimCommit {
  const parent = input.parent === null ? undefined : commits.get(input.parent);
  const files = new Map(parent?.files ?? []);
  for (const [path, content] of Object.entries(input.changes)) {
    const normalized = normalizePath(path);
    if (content === null) files.delete(normalized);
    else files.set(normalized, content);
  }
  const hash = createHash("sha1");
  hash.update(`${input.parent ?? ""}\n${input.message}\n${input.date}\n${randomUUID()}\n`);
  for (const [path, content] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    hash.update(`${path}\0${blobSha(content)}\n`);
  }
  const commit: SimCommit = {
    sha: hash.digest("hex"),
    parents: input.parent === null ? [] : [input.parent],
    files,
    message: input.message,
    authorLogin: input.authorLogin,
    date: input.date,
  };
  commits.set(commit.sha, commit);
  return commit;
}

export function normalizePath(path: string): string {
  const trimmed = path.replace(/^\/+/, "").replace(/\/+$/, "");
  if (trimmed === "" || trimmed.split("/").some((part) => part === "" || part === "." || part === "..")) {
    throw new Error(`Invalid file path "${path}": use a relative path like "dir/file.yml".`);
  }
  return trimmed;
}

/**
 * A branch name or a commit sha (full, or an unambiguous prefix of at least 7 characters),
 * as the contents and check-runs endpoints accept them.
 */
export function resolveRef(repo: SimRepo, ref: string): SimCommit | undefined {
  const branchHead = repo.branches.get(ref) ?? repo.branches.get(ref.replace(/^refs\/heads\//, ""));
  if (branchHead !== undefined) return repo.commits.get(branchHead);
  if (!/^[0-9a-f]{7,40}$/.test(ref)) return undefined;
  const exact = repo.commits.get(ref);
  if (exact) return exact;
  const matches = [...repo.commits.values()].filter((commit) => commit.sha.startsWith(ref));
  return matches.length === 1 ? matches[0] : undefined;
}

/** `sha` and every commit reachable from it through parents. */
export function ancestors(commits: CommitStore, sha: string): Set<string> {
  const seen = new Set<string>();
  const stack = [sha];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(commits.get(next)?.parents ?? []));
  }
  return seen;
}

/**
 * The merge base of two commits as git computes it: a common ancestor that is not an ancestor
 * of another common ancestor. With several (criss-cross merges) the one nearest to `b`, breadth
 * first, is chosen. `undefined` when the histories share no commit.
 */
export function mergeBase(commits: CommitStore, a: string, b: string): string | undefined {
  const ofA = ancestors(commits, a);
  const common: string[] = [];
  const queue = [b];
  const seen = new Set<string>();
  for (let index = 0; index < queue.length; index += 1) {
    const next = queue[index] as string;
    if (seen.has(next)) continue;
    seen.add(next);
    if (ofA.has(next)) {
      common.push(next);
      continue;
    }
    queue.push(...(commits.get(next)?.parents ?? []));
  }
  if (common.length <= 1) return common[0];
  // Drop common ancestors that are ancestors of another one.
  const dominated = new Set<string>();
  for (const sha of common) {
    for (const parent of commits.get(sha)?.parents ?? []) {
      for (const ancestor of ancestors(commits, parent)) dominated.add(ancestor);
    }
  }
  return common.find((sha) => !dominated.has(sha));
}

/**
 * Commits reachable from `head` but not from `base` (`git log base..head`), oldest first:
 * every commit comes after its parents.
 */
export function commitsBetween(commits: CommitStore, base: string, head: string): SimCommit[] {
  const excluded = ancestors(commits, base);
  const ordered: SimCommit[] = [];
  const visited = new Set<string>();
  const stack: Array<{ sha: string; expanded: boolean }> = [{ sha: head, expanded: false }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const commit = commits.get(item.sha);
    if (!commit || excluded.has(item.sha)) continue;
    if (item.expanded) {
      ordered.push(commit);
      continue;
    }
    if (visited.has(item.sha)) continue;
    visited.add(item.sha);
    stack.push({ sha: item.sha, expanded: true });
    for (const parent of [...commit.parents].reverse()) if (!visited.has(parent)) stack.push({ sha: parent, expanded: false });
  }
  return ordered;
}

/** A tree id for a commit's files (a digest of paths and blob shas; not git's tree encoding). */
export function treeSha(files: ReadonlyMap<string, string>): string {
  const hash = createHash("sha1");
  for (const [path, content] of [...files].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) hash.update(`${path}\0${blobSha(content)}\n`);
  return hash.digest("hex");
}

export interface FileDifference {
  path: string;
  status: "added" | "removed" | "modified";
  before: string | undefined;
  after: string | undefined;
}

/** Files that differ between two trees, sorted by path. */
export function diffTrees(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): FileDifference[] {
  const paths = new Set([...before.keys(), ...after.keys()]);
  const differences: FileDifference[] = [];
  for (const path of [...paths].sort()) {
    const old = before.get(path);
    const next = after.get(path);
    if (old === next) continue;
    const status = old === undefined ? "added" : next === undefined ? "removed" : "modified";
    differences.push({ path, status, before: old, after: next });
  }
  return differences;
}

/** The changes that turn `before` into `after`, as `FileChanges`. */
export function changesBetween(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): FileChanges {
  const changes: FileChanges = {};
  for (const difference of diffTrees(before, after)) changes[difference.path] = difference.after ?? null;
  return changes;
}
