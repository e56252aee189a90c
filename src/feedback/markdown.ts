import { formatDuration } from "../util/duration.js";

/**
 * Text that comes from outside the app (reasons, environment and file names, problem messages
 * that echo what was written, logins, errors) shown in GitHub-flavoured Markdown exactly as
 * written and with no effect. This is the one function every such string goes through.
 *
 * The text becomes a code span. GitHub renders a code span's content literally (no entities,
 * emphasis, strikethrough, links, autolinks or HTML), and its reference filters (@mentions,
 * team mentions, #123, GH-1, owner/repo#1, commit SHAs, custom autolinks, emoji) skip code.
 * Backslash escapes would not be enough: GitHub turns an escaped `\@octocat` back into the text
 * "@octocat" and then finds the mention in it.
 *
 * - The fence is one backtick longer than the longest run of backticks in the text, so no run
 *   inside can close it; a text that starts or ends with a backtick (or with a space at both
 *   ends) gets a space on each side, which CommonMark strips again.
 * - `|` stays outside the code, written `\|`: a GFM table splits a row at every unescaped pipe,
 *   even inside a code span, while inside a code span outside a table `\|` would show the
 *   backslash. Outside code, `\|` is a plain pipe in both places.
 * - Line breaks and other control characters become spaces: a line break would end a table
 *   row or a list item.
 */
export function markdownLiteral(text: string): string {
  const flat = text.replace(CONTROL_CHARACTERS, " ");
  return flat
    .split("|")
    .map((segment) => (segment === "" ? "" : codeSpan(segment)))
    .join("\\|");
}

/**
 * Text shown as a fenced code block (several lines kept as lines), with a fence longer than any
 * run of backticks in it, so the text cannot close the block early.
 */
export function markdownCodeBlock(text: string, info = ""): string {
  const fence = "`".repeat(Math.max(3, longestRun(text, "`") + 1));
  // eslint-disable-next-line no-control-regex -- a code block keeps only its line breaks: every other control character becomes a space
  const body = text.replace(/\r\n?/g, "\n").replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/gu, " ");
  return `${fence}${info}\n${body}\n${fence}`;
}

/** C0 and C1 controls (tab and line breaks included) and the Unicode line separators. */
// eslint-disable-next-line no-control-regex -- the control characters are what it matches
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu;

function codeSpan(segment: string): string {
  const fence = "`".repeat(longestRun(segment, "`") + 1);
  // A backtick at either end would join the fence; and CommonMark strips one space from each
  // end of a content that begins and ends with one (unless it is all spaces). Padding with one
  // space on each side, which CommonMark strips again, keeps what shows exactly the segment.
  const needsPadding = /^`|`$/u.test(segment) || (/^ [\s\S]* $/u.test(segment) && !/^ +$/u.test(segment));
  const body = needsPadding ? ` ${segment} ` : segment;
  return `${fence}${body}${fence}`;
}

function longestRun(text: string, char: string): number {
  let longest = 0;
  let current = 0;
  for (const c of text) {
    current = c === char ? current + 1 : 0;
    if (current > longest) longest = current;
  }
  return longest;
}

/** `2026-01-01 12:00:00 UTC (in 2h)` for an expiry time. */
export function formatExpiry(at: Date, now: number): string {
  const stamp = `${at.toISOString().slice(0, 19).replace("T", " ")} UTC`;
  const ms = at.getTime() - now;
  const seconds = Math.round(Math.abs(ms) / 1000);
  if (seconds === 0) return `${stamp} (now)`;
  const relative = formatDuration(seconds * 1000);
  return ms > 0 ? `${stamp} (in ${relative})` : `${stamp} (${relative} ago)`;
}
