/**
 * One CSV record with RFC 4180 quoting: a field that holds a comma, a double quote, a carriage
 * return or a line feed is enclosed in double quotes, with its double quotes doubled. Pure.
 */
export function csvRecord(fields: readonly string[]): string {
  return fields.map(csvField).join(",");
}

function csvField(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}
