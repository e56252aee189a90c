/**
 * A CODEOWNERS path matcher written independently of src/approve: it shares no parser, no token
 * type and no compiled form with the app's matcher. It reads the pattern character by character,
 * splits pattern and path into segments, and matches them by plain recursion, straight from
 * GitHub's documented rules (https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners).
 * A parser bug in the app therefore cannot hide in both. It backtracks exponentially on hostile
 * patterns: use it on small generated inputs only. Patterns the app refuses (`patternProblem`)
 * are not its business.
 */

/** One pattern character: `\x` is the literal `x`. */
interface PatternChar {
  ch: string;
  escaped: boolean;
}

/** A pattern segment: `**`, a lone `*`, or a glob over one path segment. */
type OracleSegment = { kind: "any-depth" } | { kind: "one-entry" } | { kind: "glob"; chars: PatternChar[] };

/** Reads `pattern` into segments at unescaped `/`, each a list of code points with their escapes. */
function readSegments(text: string): PatternChar[][] {
  const segments: PatternChar[][] = [[]];
  const points = Array.from(text);
  for (let i = 0; i < points.length; i++) {
    const point = points[i]!;
    if (point === "\\" && i + 1 < points.length) {
      segments.at(-1)!.push({ ch: points[++i]!, escaped: true });
    } else if (point === "/") {
      segments.push([]);
    } else {
      segments.at(-1)!.push({ ch: point, escaped: false });
    }
  }
  return segments;
}

const isBare = (chars: PatternChar[], text: string): boolean =>
  chars.length === text.length && chars.every((c, i) => !c.escaped && c.ch === text[i]);

function classify(chars: PatternChar[]): OracleSegment {
  if (isBare(chars, "**")) return { kind: "any-depth" };
  if (isBare(chars, "*")) return { kind: "one-entry" };
  return { kind: "glob", chars };
}

/** Does the glob match the whole of one path segment? `*` is any run, `?` one code point. */
function globMatches(chars: PatternChar[], segment: string[]): boolean {
  const at = (p: number, s: number): boolean => {
    if (p === chars.length) return s === segment.length;
    const { ch, escaped } = chars[p]!;
    if (!escaped && ch === "*") {
      for (let k = s; k <= segment.length; k++) if (at(p + 1, k)) return true;
      return false;
    }
    if (s === segment.length) return false;
    if (!escaped && ch === "?") return at(p + 1, s + 1);
    return segment[s] === ch && at(p + 1, s + 1);
  };
  return at(0, 0);
}

/** True when the path segments from `from` on spell a non-empty remainder ("something below"). */
const somethingBelow = (path: string[], from: number): boolean => from < path.length && path.slice(from).join("/") !== "";

/** Does `pattern` own `path` (a repository path, with or without one leading `/`)? */
export function oracleOwns(pattern: string, path: string): boolean {
  const parts = (path.startsWith("/") ? path.slice(1) : path).split("/");
  const anchored = pattern.startsWith("/");
  const directoryOnly = pattern.endsWith("/");
  const body = pattern.slice(anchored ? 1 : 0, directoryOnly ? pattern.length - 1 : pattern.length);
  let segments = readSegments(body).map(classify);
  segments = segments.filter((s, i) => !(s.kind === "any-depth" && segments[i - 1]?.kind === "any-depth"));

  // `**` alone owns every path; `**/` every path inside some directory.
  if (segments.length === 1 && segments[0]!.kind === "any-depth") {
    return directoryOnly ? parts[0] !== "" && somethingBelow(parts, 1) : parts.join("/") !== "";
  }
  // A pattern with no slash inside it matches at any depth.
  if (!anchored && segments.length === 1) segments = [{ kind: "any-depth" }, ...segments];
  // A trailing slash owns what is inside the directory, never a file of that name.
  if (directoryOnly && segments.at(-1)!.kind !== "any-depth") segments = [...segments, { kind: "any-depth" }];

  const last = segments.length - 1;
  const matchFrom = (i: number, j: number): boolean => {
    const segment = segments[i]!;
    if (segment.kind === "any-depth") {
      // At the end: at least something below. Elsewhere: zero or more non-empty directories.
      if (i === last) return somethingBelow(parts, j);
      for (let k = j; k <= parts.length; k++) {
        if (k > j && parts[k - 1] === "") return false;
        if (matchFrom(i + 1, k)) return true;
      }
      return false;
    }
    if (j >= parts.length) return false;
    const name = parts[j]!;
    if (segment.kind === "one-entry") {
      if (name === "") return false;
      // A lone `*` last owns one entry and nothing below it.
      return i === last ? j === parts.length - 1 : matchFrom(i + 1, j + 1);
    }
    if (!globMatches(segment.chars, Array.from(name))) return false;
    // A name last owns the entry itself and everything below it.
    return i === last ? j === parts.length - 1 || somethingBelow(parts, j + 1) : matchFrom(i + 1, j + 1);
  };
  return matchFrom(0, 0);
}
