/**
 * Finds the shape of regular expression that backtracks exponentially: a group repeated by a
 * quantifier while it holds a quantifier or an alternation of its own, as in `(a+)+`,
 * `(\w+\s?)*`, `(a|aa)+` or `(.*,){20}`. Tested against a crafted reason, such a pattern runs
 * for minutes. The pattern must already compile with the `u` flag.
 *
 * Conservative, not complete: it refuses a few patterns that would be safe (`(ab?)+`), which
 * are easy to rewrite, and passes adjacent quantifiers such as `\s*\s*x`, which are polynomial;
 * reasons are length-capped and their match is time-limited for those.
 */

interface Group {
  start: number;
  /** Holds a quantifier or a `|`, at any depth. */
  branches: boolean;
}

/** The offending repeated group as written, e.g. `(a+)+`, or null when there is none. */
export function repeatedBranchingGroup(pattern: string): string | null {
  const open: Group[] = [{ start: 0, branches: false }];
  const top = (): Group => open[open.length - 1] as Group;
  let last: Group | null = null; // the atom a following quantifier applies to
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i];
    if (ch === "(") {
      open.push({ start: i, branches: false });
      i = afterGroupPrefix(pattern, i);
      last = null;
    } else if (ch === ")") {
      const closed = open.length > 1 ? (open.pop() as Group) : top();
      top().branches ||= closed.branches;
      last = closed;
      i += 1;
    } else if (ch === "|") {
      top().branches = true;
      last = null;
      i += 1;
    } else {
      const quantifier = quantifierAt(pattern, i);
      if (quantifier !== null) {
        if (last?.branches === true && quantifier.repeats) return pattern.slice(last.start, quantifier.end);
        top().branches = true;
        last = null;
        i = quantifier.end;
      } else {
        last = { start: i, branches: false };
        i = ch === "\\" ? afterEscape(pattern, i) : ch === "[" ? afterClass(pattern, i) : i + 1;
      }
    }
  }
  return null;
}

/** `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, each possibly lazy; `repeats` when it allows more than one. */
function quantifierAt(pattern: string, i: number): { end: number; repeats: boolean } | null {
  const ch = pattern[i];
  let end: number;
  let repeats: boolean;
  if (ch === "*" || ch === "+" || ch === "?") {
    end = i + 1;
    repeats = ch !== "?";
  } else {
    const braces = /^\{(\d+)(,(\d*))?\}/u.exec(pattern.slice(i));
    if (braces === null) return null;
    end = i + braces[0].length;
    const max = braces[2] === undefined ? Number(braces[1]) : braces[3] === "" ? Infinity : Number(braces[3]);
    repeats = max > 1;
  }
  return { end: pattern[end] === "?" ? end + 1 : end, repeats };
}

/** Past `(`, `(?:`, `(?=`, `(?!`, `(?<=`, `(?<!` or `(?<name>`. */
function afterGroupPrefix(pattern: string, i: number): number {
  if (pattern[i + 1] !== "?") return i + 1;
  if (pattern[i + 2] === "<" && pattern[i + 3] !== "=" && pattern[i + 3] !== "!") {
    const close = pattern.indexOf(">", i);
    return close === -1 ? pattern.length : close + 1;
  }
  return pattern[i + 2] === "<" ? i + 4 : i + 3;
}

/** Past `\x`, `\p{…}`, `\u{…}` or `\k<name>`. */
function afterEscape(pattern: string, i: number): number {
  const next = pattern[i + 1];
  const bracketed = (open: string, close: string): number => {
    if (pattern[i + 2] !== open) return i + 2;
    const end = pattern.indexOf(close, i + 2);
    return end === -1 ? pattern.length : end + 1;
  };
  if (next === "p" || next === "P" || next === "u") return bracketed("{", "}");
  if (next === "k") return bracketed("<", ">");
  return i + 2;
}

/** Past a character class `[…]`, escapes included. */
function afterClass(pattern: string, i: number): number {
  let j = i + 1;
  if (pattern[j] === "^") j += 1;
  while (j < pattern.length && pattern[j] !== "]") j += pattern[j] === "\\" ? 2 : 1;
  return j + 1;
}
