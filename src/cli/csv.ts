/**
 * One CSV record with RFC 4180 quoting: a field that holds a comma, a double quote, a carriage
 * return or a line feed is enclosed in double quotes, with its double quotes doubled.
 *
 * A field that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or
 * a carriage return; the text may come from a pull request) is shown as text instead: it gets a
 * leading `'`, as OWASP's advice on CSV injection has it. The JSONL export keeps every
 * character as stored. Pure.
 */
export function csvRecord(fields: readonly string[]): string {
  return fields.map(csvField).join(",");
}

/** What a spreadsheet reads as the start of a formula. */
const FORMULA_START = /^[=+\-@\t\r]/;

function csvField(field: string): string {
  const text = FORMULA_START.test(field) ? `'${field}` : field;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
