import { formatDuration } from "../requests/duration.js";

/**
 * Text from a request file (reasons, names) shown in Markdown on the PR: table cells stay one
 * cell, HTML stays text, and an `@mention` or `#123` in a reason notifies nobody.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\r\n]+/g, " ")
    .replace(/[\\`*[\]|<>]/g, (c) => `\\${c}`)
    .replace(/@/g, "@\u200b")
    .replace(/#(?=\d)/g, "#\u200b");
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
