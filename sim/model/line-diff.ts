/**
 * A line diff in unified format, as the pull request files endpoint reports it in `patch`.
 * Longest-common-subsequence based; fine for the small files of tests and demos.
 */

export interface LineDiff {
  additions: number;
  deletions: number;
  patch: string;
}

type Op = { kind: " " | "-" | "+"; line: string };

const CONTEXT = 3;
const MAX_CELLS = 4_000_000;

function splitLines(text: string | undefined): string[] {
  if (text === undefined || text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function operations(a: string[], b: string[]): Op[] {
  if (a.length * b.length > MAX_CELLS) {
    return [...a.map((line): Op => ({ kind: "-", line })), ...b.map((line): Op => ({ kind: "+", line }))];
  }
  const width = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lcs[i * width + j] =
        a[i] === b[j] ? (lcs[(i + 1) * width + j + 1] ?? 0) + 1 : Math.max(lcs[(i + 1) * width + j] ?? 0, lcs[i * width + j + 1] ?? 0);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: " ", line: a[i] ?? "" });
      i += 1;
      j += 1;
    } else if (i < a.length && (j >= b.length || (lcs[(i + 1) * width + j] ?? 0) >= (lcs[i * width + j + 1] ?? 0))) {
      ops.push({ kind: "-", line: a[i] ?? "" });
      i += 1;
    } else {
      ops.push({ kind: "+", line: b[j] ?? "" });
      j += 1;
    }
  }
  return ops;
}

/** Index ranges [start, end) of `ops` to print, each change with up to 3 lines of context. */
function hunkRanges(ops: Op[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  ops.forEach((op, index) => {
    if (op.kind === " ") return;
    const start = Math.max(0, index - CONTEXT);
    const end = Math.min(ops.length, index + CONTEXT + 1);
    const last = ranges[ranges.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else ranges.push([start, end]);
  });
  return ranges;
}

export function lineDiff(before: string | undefined, after: string | undefined): LineDiff {
  const ops = operations(splitLines(before), splitLines(after));
  const hunks: string[] = [];
  let oldLine = 1;
  let newLine = 1;
  let cursor = 0;
  for (const [start, end] of hunkRanges(ops)) {
    for (; cursor < start; cursor += 1) {
      const kind = ops[cursor]?.kind;
      if (kind !== "+") oldLine += 1;
      if (kind !== "-") newLine += 1;
    }
    const slice = ops.slice(start, end);
    const oldCount = slice.filter((op) => op.kind !== "+").length;
    const newCount = slice.filter((op) => op.kind !== "-").length;
    const header = `@@ -${oldCount === 0 ? oldLine - 1 : oldLine},${oldCount} +${newCount === 0 ? newLine - 1 : newLine},${newCount} @@`;
    hunks.push([header, ...slice.map((op) => `${op.kind}${op.line}`)].join("\n"));
  }
  return {
    additions: ops.filter((op) => op.kind === "+").length,
    deletions: ops.filter((op) => op.kind === "-").length,
    patch: hunks.join("\n"),
  };
}
