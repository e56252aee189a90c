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

function ancestors(commits: CommitStore, sha: string): Set<string> {
  const seen = new Set<string>();
  const queue = [sha];
  while (queue.length > 0) {
    const next = queue.shift();
    if (next === undefined || seen.has(next)) continue;
    seen.add(next);
    queue.push(...(commits.get(next)?.parents ?? []));
  }
  return seen;
}

/** The nearest common ancestor of two commits (breadth-first from `b`), or `undefined`. */
export function mergeBase(commits: CommitStore, a: string, b: string): string | undefined {
  const ofA = ancestors(commits, a);
  const queue = [b];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const next = queue.shift();
    if (next === undefined || seen.has(next)) continue;
    if (ofA.has(next)) return next;
    seen.add(next);
    queue.push(...(commits.get(next)?.parents ?? []));
  }
  return undefined;
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
