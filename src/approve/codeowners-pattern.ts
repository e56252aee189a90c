/**
 * CODEOWNERS path patterns, matched the way GitHub documents them
 * (https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners):
 * gitignore rules, minus the parts GitHub says do not work in CODEOWNERS.
 *
 * - A leading `/` anchors the pattern to the repository root. A pattern with a `/` anywhere
 *   but at its end is anchored too; a pattern without one matches at any depth.
 * - A trailing `/` matches directories only: everything below the directory.
 * - A pattern that names a file or directory also owns everything below it, except when its
 *   last segment is a lone `*`: `docs/*` owns `docs/a.md`, not `docs/sub/b.md`.
 * - `*` matches within one segment (never `/`), `?` one character other than `/`.
 * - `**` as a whole segment: first (`**` then `/foo`), `foo` at any depth; last (`foo/**`),
 *   everything inside `foo`; in between (`a/**` then `/b`), zero or more directories.
 * - `\x` is the literal `x`, so `\*`, `\?` and `\ ` (a space) can appear in a name.
 * - Not supported, as GitHub documents: `!` negation and `[ ]` character ranges. Brackets are
 *   literal characters (`/apps/[param]/file.ts` matches that very path, as Next.js routes are
 *   named), and a leading `!` is refused. Escaping a leading `#` as `\#` does not work on
 *   GitHub either, so a pattern starting with `\#` is refused rather than guessed at.
 * - Paths are case-sensitive, as on GitHub.
 */

import { type PathProgram, type Piece, runPathProgram, type Tail, type Token } from "./path-program.js";

export type PathMatcher = (path: string) => boolean;

type Segment = { kind: "globstar" } | { kind: "lone-star" } | { kind: "tokens"; tokens: Token[] };

/**
 * Why `pattern` is not a CODEOWNERS pattern GitHub would use, or `null` when it is one.
 * The message says how to write the pattern instead.
 */
export function patternProblem(pattern: string): string | null {
  if (pattern === "") return "the pattern is empty";
  if (pattern.startsWith("#")) {
    return `"${pattern}" starts with "#", which makes the line a comment`;
  }
  if (pattern.startsWith("\\#")) {
    return `"${pattern}": GitHub documents that escaping a leading "#" with "\\" does not work in CODEOWNERS; match the path with a wildcard in place of the "#" instead, e.g. "?${pattern.slice(2)}"`;
  }
  if (pattern.startsWith("!")) {
    return `"${pattern}": GitHub CODEOWNERS does not support "!" negation; to take paths away from earlier owners, add a later line for them with other owners or with no owner`;
  }
  if (/(?<!\\)(?:\\\\)*\\$/u.test(pattern)) {
    return `"${pattern}" ends with a lone "\\"; escape a character after it or remove it`;
  }
  if (/(?<!\\)(?:\\\\)*\\\//u.test(pattern)) {
    return `"${pattern}" escapes a "/", which cannot be part of a file name; remove the "\\"`;
  }
  if (pattern === "/") return `"/" names no path; use "*" to match every file`;
  if (/\/\//u.test(pattern)) {
    return `"${pattern}" has an empty path segment ("//"); remove the extra "/"`;
  }
  return null;
}

/**
 * Compiles a CODEOWNERS pattern to a matcher over repository paths (`docs/a.md`, no leading
 * slash; one is tolerated). The program is built once, here; keep the matcher. Matching takes
 * time proportional to pattern length times path length (see `path-program.ts`).
 * Throws when {@link patternProblem} reports a problem.
 */
export function compilePattern(pattern: string): PathMatcher {
  const problem = patternProblem(pattern);
  if (problem !== null) throw new Error(`Invalid CODEOWNERS pattern: ${problem}`);
  const program = toProgram(pattern);
  return (path) => runPathProgram(program, path.startsWith("/") ? path.slice(1) : path);
}

function toProgram(pattern: string): PathProgram {
  const anchored = pattern.startsWith("/");
  const directoryOnly = pattern.endsWith("/");
  const body = pattern.slice(anchored ? 1 : 0, directoryOnly ? -1 : undefined);
  let segments = collapseGlobstars(splitSegments(body).map(toSegment));

  // No slash (other than a trailing one): the name matches at any depth.
  if (!anchored && segments.length === 1 && segments[0]?.kind !== "globstar") {
    segments = [{ kind: "globstar" }, ...segments];
  }
  // A trailing slash means "everything inside", which a trailing `**` already says.
  if (directoryOnly && segments[segments.length - 1]?.kind !== "globstar") {
    segments = [...segments, { kind: "globstar" }];
  }
  if (segments.length === 1 && segments[0]?.kind === "globstar") {
    // `**` or `/**` owns everything; `**/` owns everything inside some directory.
    return directoryOnly ? { pieces: [{ kind: "entry" }, { kind: "slash" }], tail: "anything" } : { pieces: [], tail: "anything" };
  }
  return segmentsProgram(segments);
}

function segmentsProgram(segments: readonly Segment[]): PathProgram {
  const last = segments.length - 1;
  const pieces: Piece[] = [];
  let tail: Tail = "end";
  let needSlash = false;
  segments.forEach((segment, index) => {
    if (segment.kind === "globstar") {
      if (index === 0) {
        pieces.push({ kind: "dirs-then-slash" }); // any leading directories, or none
        needSlash = false;
      } else if (index === last) {
        tail = "inside"; // anything inside
      } else {
        pieces.push({ kind: "slash-then-dirs" }); // zero or more directories in between
        needSlash = true;
      }
      return;
    }
    if (needSlash) pieces.push({ kind: "slash" });
    needSlash = true;
    if (segment.kind === "lone-star") {
      pieces.push({ kind: "entry" }); // exactly one entry, nothing below it
      return;
    }
    pieces.push({ kind: "tokens", tokens: segment.tokens });
    if (index === last) tail = "end-or-inside"; // the file itself, or everything below it
  });
  return { pieces, tail };
}

/** Splits on unescaped `/`, keeping escapes in each segment for {@link toSegment}. */
function splitSegments(body: string): string[] {
  const segments: string[] = [];
  let current = "";
  for (let i = 0; i < body.length; i += 1) {
    const ch = body[i] as string;
    if (ch === "\\") {
      current += ch + (body[i + 1] ?? "");
      i += 1;
    } else if (ch === "/") {
      segments.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  segments.push(current);
  return segments;
}

function toSegment(raw: string): Segment {
  if (raw === "**") return { kind: "globstar" };
  if (raw === "*") return { kind: "lone-star" };
  const tokens: Token[] = [];
  for (const ch of unescapedChars(raw)) {
    if (ch.escaped || (ch.text !== "*" && ch.text !== "?")) {
      const previous = tokens[tokens.length - 1];
      if (previous?.kind === "literal") previous.text += ch.text;
      else tokens.push({ kind: "literal", text: ch.text });
    } else if (ch.text === "?") {
      tokens.push({ kind: "any-char" });
    } else if (tokens[tokens.length - 1]?.kind !== "star") {
      tokens.push({ kind: "star" }); // `**` inside a segment is just `*`
    }
  }
  return { kind: "tokens", tokens };
}

function* unescapedChars(raw: string): Generator<{ text: string; escaped: boolean }> {
  const chars = [...raw];
  for (let i = 0; i < chars.length; i += 1) {
    const ch = chars[i] as string;
    if (ch === "\\" && i + 1 < chars.length) {
      i += 1;
      yield { text: chars[i] as string, escaped: true };
    } else {
      yield { text: ch, escaped: false };
    }
  }
}

function collapseGlobstars(segments: Segment[]): Segment[] {
  return segments.filter((segment, index) => !(segment.kind === "globstar" && segments[index - 1]?.kind === "globstar"));
}
