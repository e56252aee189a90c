/**
 * Judges a pull request's change to the requests file: parses head and base, takes the entries
 * the head adds, and checks each against the catalog, the repository config and, when given,
 * the repository's environments and the pull request itself. Reports every problem at once,
 * each at the line and column of the value it is about. Pure: the caller gathers the inputs.
 *
 * Grant only when `problems` is empty. `requests` lists the added entries that passed their own
 * checks even when other problems exist, so that a caller can say what would be granted once
 * the rest is fixed; it must not grant them while any problem remains.
 */
import type { Catalog } from "../policy/catalog.js";
import type { RepoConfig } from "../policy/repo-config.js";
import { canonicalSecretName } from "../policy/secret-name.js";
import { checkEntry, type ValidRequest } from "./check-entry.js";
import { addedEntries, removedEntries } from "./diff-requests.js";
import { reasonMatcherForOneFile } from "../policy/match-reason-pattern.js";
import { parseRequests, type RequestEntry } from "./parse-requests.js";
import type { Problem } from "./problem.js";
import { asciiLower } from "../util/ascii-case.js";
import { MAX_REPORTED_PROBLEMS, PROBLEMS_COLLECTED, validationMessages as say } from "./request-messages.js";

export type { ValidRequest } from "./check-entry.js";

export interface PullRequestFacts {
  fromFork: boolean;
  baseRef: string;
  defaultBranch: string;
  authorCanWrite: boolean;
  authorLogin: string;
}

export interface ValidationInput {
  /** Path of the requests file, as messages show it. */
  file: string;
  /** The file at the pull request's head. */
  headText: string;
  /** The file at the pull request's base; null when it does not exist there. */
  baseText: string | null;
  catalog: Catalog;
  repoConfig: RepoConfig;
  /** `owner/name`. */
  repository: string;
  /** The repository's environment names; undefined skips that check (offline). */
  environments?: readonly string[];
  /** Undefined skips the pull-request checks (offline). */
  pullRequest?: PullRequestFacts;
  /** Names of the environments that have a protection rule; undefined skips that check (offline). */
  protectedEnvironments?: readonly string[];
  /**
   * When `baseText` is the file at the PR's merge base: its commit, whether the base branch has
   * changed the file since, and whether it was too large to read. Each fails closed.
   */
  mergeBase?: { sha: string; baseMoved: boolean; tooLarge: boolean };
}

export interface ValidationResult {
  /**
   * Sorted by line, then column; at most MAX_REPORTED_PROBLEMS, the last then saying that there
   * are more. Grant nothing unless this is empty.
   */
  problems: Problem[];
  /**
   * Added entries that passed every check of their own, in file order. Once problems reach
   * MAX_REPORTED_PROBLEMS, later entries are not checked and not listed here.
   */
  requests: ValidRequest[];
  /**
   * The head removes entries and adds none, and nothing is wrong: a clean-up with nothing to
   * approve. False when nothing changed at all (then `requests` is empty too).
   */
  removedOnly: boolean;
}

export function validateRequests(input: ValidationInput): ValidationResult {
  const head = parseRequests(input.headText);
  const parsedBase = input.baseText === null ? null : parseRequests(input.baseText);
  // Offline, entries of a base that does not parse cannot be paired, so every head entry is
  // judged; for a pull request that base problem fails the whole request (mergeBaseProblems).
  const base = parsedBase?.entries ?? [];
  const added = addedEntries(base, head.entries);

  const problems: Problem[] = [...head.problems, ...pullRequestProblems(input), ...mergeBaseProblems(input, parsedBase?.problems ?? [])];
  const requests: ValidRequest[] = [];
  const firstSeen = new Map<string, RequestEntry>();
  const matchReason = reasonMatcherForOneFile();
  let entryProblems = 0;
  for (const entry of added) {
    // Entries are in file order: once MAX_REPORTED_PROBLEMS are found among them, a later
    // entry's problems could never be shown, so later entries are not checked (and nothing is
    // granted while any problem remains).
    if (entryProblems >= PROBLEMS_COLLECTED) break;
    const verdict = checkEntry(entry, input, matchReason);
    problems.push(...verdict.problems);
    entryProblems += verdict.problems.length;
    const duplicate = duplicateProblem(entry, firstSeen);
    if (duplicate !== null) {
      problems.push(duplicate);
      entryProblems += 1;
    } else if (verdict.request !== null) requests.push(verdict.request);
  }

  // Break-glass is granted without approval; an ordinary entry beside it would be too.
  const glass = added.filter((e) => e.breakGlass);
  if (glass.length > 0 && glass.length < added.length) {
    for (const entry of glass) {
      const span = entry.fields.break_glass;
      problems.push(
        span === undefined ? { line: entry.line, column: 1, message: say.breakGlassMixed() } : { ...span, message: say.breakGlassMixed() },
      );
    }
  }

  const sorted = problems.sort((a, b) => a.line - b.line || a.column - b.column);
  const removedOnly = sorted.length === 0 && added.length === 0 && removedEntries(base, head.entries).length > 0;
  return { problems: capped(sorted), requests, removedOnly };
}

/**
 * The first problems, and one that says there are more: a hostile file can hold tens of
 * thousands, and each becomes a check-run annotation (50 per API call) and a summary line.
 * Every source stops collecting at MAX_REPORTED_PROBLEMS, so how many more is not counted.
 */
function capped(problems: Problem[]): Problem[] {
  if (problems.length <= MAX_REPORTED_PROBLEMS) return problems;
  const shown = problems.slice(0, MAX_REPORTED_PROBLEMS - 1);
  const next = problems[MAX_REPORTED_PROBLEMS - 1] as Problem;
  return [...shown, { line: next.line, column: next.column, message: say.moreProblems() }];
}

/** The same secret for the same environment twice among the added entries: the second is wrong. */
function duplicateProblem(entry: RequestEntry, firstSeen: Map<string, RequestEntry>): Problem | null {
  const key = JSON.stringify([canonicalSecretName(entry.secret), asciiLower(entry.environment)]);
  const first = firstSeen.get(key);
  if (first === undefined) {
    firstSeen.set(key, entry);
    return null;
  }
  const message = say.duplicate(canonicalSecretName(entry.secret), entry.environment, first.line);
  return entry.fields.secret === undefined ? { line: entry.line, column: 1, message } : { ...entry.fields.secret, message };
}

/** What the PR adds can only be told from a readable merge base that the base branch has not moved past. */
function mergeBaseProblems(input: ValidationInput, baseProblems: readonly Problem[]): Problem[] {
  const { mergeBase } = input;
  if (mergeBase === undefined) return [];
  const messages: string[] = [];
  const first = baseProblems[0];
  if (mergeBase.tooLarge) messages.push(say.mergeBaseUnreadable(input.file, mergeBase.sha, "it is over the size limit"));
  else if (first !== undefined) messages.push(say.mergeBaseUnreadable(input.file, mergeBase.sha, `line ${first.line}: ${first.message}`));
  if (mergeBase.baseMoved) messages.push(say.baseMoved(input.file, input.pullRequest?.baseRef ?? "the base branch", mergeBase.sha));
  return messages.map((message) => ({ line: 1, column: 1, message }));
}

function pullRequestProblems(input: ValidationInput): Problem[] {
  const facts = input.pullRequest;
  if (facts === undefined) return [];
  const messages: string[] = [];
  if (facts.fromFork) messages.push(say.fromFork(input.repository));
  if (facts.baseRef !== facts.defaultBranch) messages.push(say.wrongBase(input.file, facts.baseRef, facts.defaultBranch));
  if (!facts.authorCanWrite) messages.push(say.noWritePermission(facts.authorLogin, input.repository));
  return messages.map((message) => ({ line: 1, column: 1, message }));
}
