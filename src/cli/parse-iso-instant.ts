/**
 * An instant written in ISO 8601 as people type it on a command line: a UTC date
 * (`2026-03-01`, meaning its midnight UTC) or a date and time with its offset
 * (`2026-03-01T09:30:00Z`, `2026-03-01T10:30+01:00`). A time without an offset is refused
 * rather than read in the machine's zone, and so is a day that does not exist (`2026-02-30`).
 * Returns null when `text` is not such an instant. Pure.
 */
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

export function parseIsoInstant(text: string): Date | null {
  const match = ISO_INSTANT.exec(text.trim());
  if (!match) return null;
  const [, year, month, day, hour, minute, second] = match.map(Number);
  const calendarDay = new Date(Date.UTC(year!, month! - 1, day));
  if (calendarDay.getUTCMonth() !== month! - 1 || calendarDay.getUTCDate() !== day!) return null;
  if (match[4] !== undefined && (hour! > 23 || minute! > 59 || (match[6] !== undefined && second! > 59))) return null;
  const ms = Date.parse(text.trim());
  return Number.isNaN(ms) ? null : new Date(ms);
}
