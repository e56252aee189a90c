/**
 * Characters a reviewer cannot see: C0 and C1 control characters (tab and line breaks included)
 * and the Unicode bidi controls that reorder how text is displayed (U+061C, U+200E, U+200F,
 * U+202A–U+202E, U+2066–U+2069), plus the line and paragraph separators U+2028/U+2029.
 * The parser also refuses Unicode's default-ignorable code points, which render as nothing:
 * zero-width spaces and joiners (U+200B–U+200D), the soft hyphen, word joiners, variation
 * selectors, a byte order mark anywhere but at the very start of the file, tag characters
 * (U+E0000–U+E007F) and the like; "produc\u200Btion" would otherwise read as production.
 * A request that hides such characters could show reviewers one thing and ask for another,
 * so they are refused, never stripped. Leading and trailing spaces, tabs and line breaks are
 * ordinary YAML layout (a block scalar ends with a newline) and are trimmed instead.
 */

const LAYOUT = "\\t\\n\\r";
const OTHER_CONTROLS = "\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F";
const BIDI_AND_SEPARATORS = "\\u061C\\u200E\\u200F\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u2069";
/** Unicode's Default_Ignorable_Code_Point: characters that display as nothing at all. */
const DEFAULT_IGNORABLE = "\\p{Default_Ignorable_Code_Point}";
const ALL = `${LAYOUT}${OTHER_CONTROLS}${BIDI_AND_SEPARATORS}${DEFAULT_IGNORABLE}`;
const BYTE_ORDER_MARK = "\uFEFF";

/**
 * Matches a text without invisible characters other than tabs and line breaks; used by the zod
 * schema (and so the JSON Schema). The parser is stricter: inside a value, once trimmed, tabs
 * and line breaks are refused too. Linear: one negated class, nothing to backtrack into.
 */
export const VISIBLE_TEXT = new RegExp(`^[^${OTHER_CONTROLS}${BIDI_AND_SEPARATORS}]*$`, "u");

const INVISIBLE = new RegExp(`[${ALL}]`, "u");
const IN_SOURCE = new RegExp(`[${OTHER_CONTROLS}${BIDI_AND_SEPARATORS}${DEFAULT_IGNORABLE}]`, "u");

/** The text without the spaces, tabs and line breaks YAML layout leaves around it. */
export function trimText(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isLayout(text.charCodeAt(start))) start++;
  while (end > start && isLayout(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function isLayout(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/** The first invisible character of the trimmed text as `U+XXXX`, or null when there is none. */
export function firstInvisibleCharacter(text: string): string | null {
  const found = INVISIBLE.exec(trimText(text));
  return found === null ? null : formatCodePoint(found[0]);
}

/**
 * The first invisible character written literally on each line of a source text, as an offset
 * and `U+XXXX`. Tabs and line breaks are layout there and are not listed, nor is a byte order
 * mark that starts the file (editors write one; YAML reads past it). At most `limit`, the first.
 */
export function invisibleCharactersInSource(
  source: string,
  limit = Number.POSITIVE_INFINITY,
): Array<{ offset: number; codePoint: string }> {
  const found: Array<{ offset: number; codePoint: string }> = [];
  const pattern = new RegExp(IN_SOURCE.source, "gu");
  if (source.startsWith(BYTE_ORDER_MARK)) pattern.lastIndex = BYTE_ORDER_MARK.length;
  for (let match = pattern.exec(source); match !== null; match = pattern.exec(source)) {
    found.push({ offset: match.index, codePoint: formatCodePoint(match[0]) });
    // Lines in order: once `limit` are found, the rest would never be shown.
    if (found.length >= limit) break;
    const nextLine = source.indexOf("\n", match.index);
    if (nextLine === -1) break;
    pattern.lastIndex = nextLine + 1;
  }
  return found;
}

function formatCodePoint(character: string): string {
  const codePoint = character.codePointAt(0) ?? 0;
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}`;
}
