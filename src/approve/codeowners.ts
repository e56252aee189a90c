/**
 * CODEOWNERS, read as GitHub reads it: one rule per line, a path pattern followed by owners;
 * the last rule whose pattern matches a path decides that path's owners.
 * The caller fetches the file from the default branch (first of {@link CODEOWNERS_LOCATIONS}
 * that exists); this module only parses and looks up.
 *
 * GitHub skips lines with invalid syntax and uses the rest, so does {@link parseCodeowners},
 * and it reports each skipped line so the check run can say what to fix.
 */
import { asciiLower, sameName } from "../util/ascii-case.js";
import { compilePattern, patternProblem, type PathMatcher } from "./codeowners-pattern.js";
import { formatOwner, parseOwner, type Owner } from "../policy/owner.js";

export { formatOwner, parseOwner, type Owner };

/** Where GitHub looks for CODEOWNERS; it uses the first file found, in this order. */
export const CODEOWNERS_LOCATIONS = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"] as const;

/** GitHub does not load a CODEOWNERS file of 3 MB or more. */
export const MAX_CODEOWNERS_BYTES = 3 * 1024 * 1024;

/** An owner as written in CODEOWNERS. Logins, org and team slugs compare case-insensitively. */

export interface CodeownersRule {
  /** The pattern as written, escapes included (`my\ file.txt`). */
  pattern: string;
  /** Empty when the line names no owner: the matching paths then have no code owner. */
  owners: Owner[];
  /** 1-based line in the CODEOWNERS file. */
  line: number;
}

export interface CodeownersError {
  line: number;
  message: string;
}

/** GitLab's `[Section]`, `^[Optional section]`, `[Section][2]`: not GitHub syntax. */
const GITLAB_SECTION = /^\^?\[[^\]]*\](?:\[\d+\])?$/u;
const WHITESPACE = /\s/u;

export function parseCodeowners(text: string): {
  rules: CodeownersRule[];
  errors: CodeownersError[];
} {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes >= MAX_CODEOWNERS_BYTES) {
    return {
      rules: [],
      errors: [
        {
          line: 1,
          message: `CODEOWNERS is ${bytes} bytes; GitHub ignores CODEOWNERS files of 3 MB or more, so no path has a code owner. Shrink it, e.g. with wildcard patterns.`,
        },
      ],
    };
  }

  const rules: CodeownersRule[] = [];
  const errors: CodeownersError[] = [];
  text
    .replace(/^\uFEFF/u, "")
    .split("\n")
    .forEach((rawLine, index) => {
      const line = index + 1;
      const parsed = parseLine(rawLine.replace(/\r$/u, ""));
      if (parsed === null) return;
      if ("problem" in parsed) errors.push({ line, message: `line ${line}: ${parsed.problem}` });
      else rules.push({ pattern: parsed.pattern, owners: parsed.owners, line });
    });
  return { rules, errors };
}

/** The owners of `path` (a repository path such as `jit-requests.yml`): the last matching rule wins. */
export function ownersFor(rules: readonly CodeownersRule[], path: string): { owners: Owner[]; rule: CodeownersRule | null } {
  for (let i = rules.length - 1; i >= 0; i -= 1) {
    const rule = rules[i] as CodeownersRule;
    if (matcherFor(rule)(path)) return { owners: rule.owners, rule };
  }
  return { owners: [], rule: null };
}

/** The key of a team in a membership map: `org/slug`, lower case. */
export function teamKey(team: { org: string; slug: string }): string {
  return asciiLower(`${team.org}/${team.slug}`);
}

/** Compiled once per rule object; recompiled only if its pattern was changed. */
const matchers = new WeakMap<CodeownersRule, { pattern: string; match: PathMatcher }>();

function matcherFor(rule: CodeownersRule): PathMatcher {
  const cached = matchers.get(rule);
  if (cached !== undefined && cached.pattern === rule.pattern) return cached.match;
  const match = compilePattern(rule.pattern);
  matchers.set(rule, { pattern: rule.pattern, match });
  return match;
}

type ParsedLine = { pattern: string; owners: Owner[] } | { problem: string } | null;

function parseLine(rawLine: string): ParsedLine {
  const line = rawLine.trimStart();
  if (line === "" || line.startsWith("#")) return null;

  const pattern = readPattern(line);
  if (GITLAB_SECTION.test(pattern)) {
    return {
      problem: `"${pattern}" is a GitLab section header; GitHub CODEOWNERS has no sections, so this line is skipped. Remove it and list the owners on each pattern.`,
    };
  }
  const problem = patternProblem(pattern);
  if (problem !== null) return { problem: `${problem}. This line is skipped.` };

  // Owners cannot contain "#": from there on the line is a comment.
  const ownerText = line.slice(pattern.length).split("#")[0] ?? "";
  const tokens = ownerText.split(/\s+/u).filter((token) => token !== "");
  const owners: Owner[] = [];
  const invalid: string[] = [];
  for (const token of tokens) {
    const owner = parseOwner(token);
    if (owner === null) invalid.push(token);
    else if (!owners.some((o) => sameOwner(o, owner))) owners.push(owner);
  }
  if (invalid.length > 0) return { problem: invalidOwnersProblem(invalid) };
  return { pattern, owners };
}

/** The pattern runs to the first whitespace that is not escaped with `\`. */
function readPattern(line: string): string {
  let end = 0;
  while (end < line.length && !WHITESPACE.test(line[end] as string)) {
    end += line[end] === "\\" && end + 1 < line.length ? 2 : 1;
  }
  return line.slice(0, end);
}

function sameOwner(a: Owner, b: Owner): boolean {
  return sameName(formatOwner(a), formatOwner(b));
}

function invalidOwnersProblem(invalid: readonly string[]): string {
  const list = invalid.map((token) => `"${token}"`).join(", ");
  const hint = invalid.some((token) => token.includes(","))
    ? "separate owners with spaces, not commas"
    : "write owners as @user, @org/team or user@example.com";
  return `${list} ${invalid.length === 1 ? "is not an owner" : "are not owners"}: ${hint}. This line is skipped.`;
}
