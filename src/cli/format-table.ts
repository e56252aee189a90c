/**
 * A plain-text table for terminals: every column padded to its widest cell, two spaces between
 * columns, no trailing spaces. Pure.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    widths
      .map((width, column) => (column === widths.length - 1 ? (cells[column] ?? "") : (cells[column] ?? "").padEnd(width)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
