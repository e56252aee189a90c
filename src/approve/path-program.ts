/**
 * Runs a compiled CODEOWNERS pattern over a path in time proportional to the pattern's length
 * times the path's, whatever the pattern. A backtracking regular expression cannot promise
 * that: `*?*?*?*?*?*?*?*?*?*?*?*?z` took over half a minute against `jit-requests.yml`, and
 * CODEOWNERS is written by repository users while the app serves every installation from one
 * event loop.
 *
 * The program is the pattern cut into pieces, each of which reads as one regular expression
 * fragment (noted beside it), followed by a tail. Paths are read by code point, as the `u` flag
 * reads them. Every piece that starts a path segment (`entry`, `tokens`) starts right after a
 * `/` or at the start, because the piece before it is `slash` or `dirs-then-slash`; the matcher
 * relies on that and only tries those positions.
 */

export type Token = { kind: "literal"; text: string } | { kind: "star" } | { kind: "any-char" };

export type Piece =
  | { kind: "slash" } // `/`
  | { kind: "dirs-then-slash" } // `(?:[^/]+/)*`
  | { kind: "slash-then-dirs" } // `(?:/[^/]+)*`
  | { kind: "entry" } // `[^/]+`
  | { kind: "tokens"; tokens: readonly Token[] }; // literals, `[^/]*`, `[^/]`

/** What must follow the pieces: `$`, `/.+$`, `(?:/.+)?$` or `.+$`. */
export type Tail = "end" | "inside" | "end-or-inside" | "anything";

export interface PathProgram {
  pieces: readonly Piece[];
  tail: Tail;
}

const SLASH = "/";

export function runPathProgram(program: PathProgram, path: string): boolean {
  const chars = [...path];
  const n = chars.length;
  const segmentEnd = segmentEnds(chars);
  // `after[pos]`: the pieces after the current one, and the tail, match chars[pos..].
  let after = new Uint8Array(n + 1);
  for (let pos = 0; pos <= n; pos += 1) after[pos] = tailMatches(program.tail, chars, pos) ? 1 : 0;
  for (let k = program.pieces.length - 1; k >= 0; k -= 1) {
    const piece = program.pieces[k] as Piece;
    const here = new Uint8Array(n + 1);
    for (let pos = n; pos >= 0; pos -= 1) {
      here[pos] = pieceMatches(piece, chars, pos, segmentEnd, after, here) ? 1 : 0;
    }
    after = here;
  }
  return after[0] === 1;
}

/** For each position, where its segment ends: the index of the next `/`, or the length. */
function segmentEnds(chars: readonly string[]): Int32Array {
  const ends = new Int32Array(chars.length + 1);
  let end = chars.length;
  for (let pos = chars.length; pos >= 0; pos -= 1) {
    if (chars[pos] === SLASH) end = pos;
    ends[pos] = end;
  }
  return ends;
}

function tailMatches(tail: Tail, chars: readonly string[], pos: number): boolean {
  const n = chars.length;
  const inside = chars[pos] === SLASH && pos + 1 < n;
  switch (tail) {
    case "end":
      return pos === n;
    case "inside":
      return inside;
    case "end-or-inside":
      return pos === n || inside;
    case "anything":
      return pos < n;
  }
}

/** `after` holds the rest of the program from each position; `here` this piece, for positions past `pos`. */
function pieceMatches(
  piece: Piece,
  chars: readonly string[],
  pos: number,
  segmentEnd: Int32Array,
  after: Uint8Array,
  here: Uint8Array,
): boolean {
  const startsSegment = pos === 0 || chars[pos - 1] === SLASH;
  switch (piece.kind) {
    case "slash":
      return chars[pos] === SLASH && after[pos + 1] === 1;
    case "dirs-then-slash": {
      if (after[pos] === 1) return true;
      const end = segmentEnd[pos] as number;
      return end > pos && end < chars.length && here[end + 1] === 1;
    }
    case "slash-then-dirs": {
      if (after[pos] === 1) return true;
      if (chars[pos] !== SLASH) return false;
      const end = segmentEnd[pos + 1] as number;
      for (let e = pos + 2; e <= end; e += 1) if (here[e] === 1) return true;
      return false;
    }
    case "entry": {
      if (!startsSegment) return false;
      const end = segmentEnd[pos] as number;
      for (let e = pos + 1; e <= end; e += 1) if (after[e] === 1) return true;
      return false;
    }
    case "tokens":
      return startsSegment && tokenEnds(piece.tokens, chars, pos, segmentEnd[pos] as number).some((e) => after[e] === 1);
  }
}

/** Every position the tokens can end at when they start at `pos`, within the segment. */
function tokenEnds(tokens: readonly Token[], chars: readonly string[], pos: number, limit: number): number[] {
  let at = [pos];
  for (const token of tokens) {
    if (at.length === 0) return at;
    switch (token.kind) {
      case "literal": {
        const text = [...token.text];
        at = at.filter((p) => p + text.length <= limit && text.every((ch, i) => chars[p + i] === ch)).map((p) => p + text.length);
        break;
      }
      case "any-char":
        at = at.filter((p) => p < limit).map((p) => p + 1);
        break;
      case "star": {
        const from = at[0] as number;
        at = Array.from({ length: limit - from + 1 }, (_, i) => from + i);
        break;
      }
    }
  }
  return at;
}
