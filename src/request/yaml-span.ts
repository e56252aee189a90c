/** Where a YAML node sits in its text, 1-based, as editors and check-run annotations count. */
import type { LineCounter, Range } from "yaml";

export interface Span {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

/** The span of `[start, end]` offsets; a missing range is placed at the start of the file. */
export function spanOf(range: Range | readonly [number, number] | null | undefined, lines: LineCounter): Span {
  const [start, end] = range ?? [0, 0];
  const from = positionOf(start, lines);
  const to = positionOf(Math.max(start, end), lines);
  return { line: from.line, column: from.column, endLine: to.line, endColumn: to.column };
}

function positionOf(offset: number, lines: LineCounter): { line: number; column: number } {
  const { line, col } = lines.linePos(offset);
  return { line: Math.max(line, 1), column: Math.max(col, 1) };
}
