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

/** `2026-01-01 12:00 UTC (in 2h)` for an expiry time. */
export function formatExpiry(at: Date, now: number): string {
  const stamp = `${at.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  const ms = at.getTime() - now;
  const minutes = Math.round(Math.abs(ms) / 60_000);
  const relative = minutes < 1 ? "now" : `${humanMinutes(minutes)}`;
  if (minutes < 1) return `${stamp} (${relative})`;
  return ms >= 0 ? `${stamp} (in ${relative})` : `${stamp} (${relative} ago)`;
}

function humanMinutes(minutes: number): string {
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  return [d ? `${d}d` : "", h ? `${h}h` : "", m ? `${m}m` : ""].join("") || "0m";
}
