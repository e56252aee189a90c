/**
 * Text from the ledger, from GitHub or from a requests file, printed to an operator's terminal.
 * Any of it can hold characters a terminal acts on or hides: ESC and the C1 CSI start escape
 * sequences (colours, cursor moves, a changed window title, on some terminals worse), a line
 * break or carriage return forges a line, bidi controls reorder what is shown, zero-width
 * characters hide text. Such characters are shown as `\uXXXX` instead. Pure.
 *
 * Two forms: `terminalText` for a line or a table cell (every such character escaped, line
 * breaks too), and `jsonForTerminal` for JSON output, which stays valid JSON with exactly the
 * same values (JSON already escapes C0 controls; C1, bidi and invisible characters are escaped
 * the JSON way, `\uXXXX`, which any JSON reader decodes to the same text).
 */

/** C0, DEL and C1 controls; bidi controls; line and paragraph separators; characters that display as nothing. */
const UNSAFE = /[\p{Cc}\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069\p{Default_Ignorable_Code_Point}]/gu;

function escape(character: string): string {
  let escaped = "";
  for (let i = 0; i < character.length; i++) escaped += `\\u${character.charCodeAt(i).toString(16).padStart(4, "0")}`;
  return escaped;
}

/** One line or table cell, safe to print: every control, bidi or invisible character as `\uXXXX`. */
export function terminalText(text: string): string {
  return text.replace(UNSAFE, escape);
}

/**
 * `JSON.stringify(value, null, space)` with the characters JSON leaves raw escaped the JSON way,
 * so the output parses to exactly `value` and prints safely.
 */
export function jsonForTerminal(value: unknown, space?: number): string {
  return jsonTextForTerminal(JSON.stringify(value, null, space));
}

/**
 * JSON text (a log line, say) made safe to print. JSON allows only whitespace outside strings,
 * and pretty-printing's line breaks and spaces are left as they are; everything else unsafe
 * can only be inside a string, where `\uXXXX` means the same character.
 */
export function jsonTextForTerminal(json: string): string {
  return json.replace(UNSAFE, (character) =>
    character === "\n" || character === "\r" || character === "\t" ? character : escape(character),
  );
}
