/**
 * Text from the ledger (reasons, logins, names, errors: requester- and operator-controlled) in
 * an HTML page, shown exactly as written and with no effect. Pure.
 *
 * `htmlText` escapes the five characters HTML gives meaning to, so no text can open a tag,
 * close an attribute or start an entity; and shows control, bidi and invisible characters as
 * `\uXXXX` (as `terminalText` does for a terminal), so none can reorder or hide what a reader
 * sees. A leading `=`, `+`, `-` or `@` is plain text in HTML: nothing evaluates it.
 */
import { terminalText } from "./terminal-text.js";

const HTML_SPECIAL = /[&<>"']/g;
const ENTITIES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes `&`, `<`, `>`, `"` and `'`: for text the page itself writes (element content or a quoted attribute). */
export function escapeHtml(text: string): string {
  return text.replace(HTML_SPECIAL, (character) => ENTITIES[character]!);
}

/** Outside text, safe as element content or a quoted attribute value, with invisible characters shown. */
export function htmlText(text: string): string {
  return escapeHtml(terminalText(text));
}
