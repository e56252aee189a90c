/**
 * Durations as people write them in request files and the catalog:
 * `90s`, `15m`, `2h`, `1h30m`, `1d`, `1d12h`. Units must appear in order d, h, m, s, each at most once,
 * with whole, non-negative numbers. No bare numbers, no decimals, no exponents, no signs.
 */

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
type Unit = keyof typeof UNIT_MS;
const ORDER: readonly Unit[] = ["d", "h", "m", "s"];
const PART = /(\d+)([dhms])/gy;
/** Longest duration the parser accepts at all (a year); policy bounds are far shorter. */
export const MAX_PARSEABLE_MS = 366 * UNIT_MS.d;

export type DurationResult = { ok: true; ms: number } | { ok: false; error: string };

export function parseDuration(input: string): DurationResult {
  const text = input.trim();
  const bad = (why: string): DurationResult => ({
    ok: false,
    error: `"${truncate(text)}" is not a duration: ${why} (write it like 90s, 15m, 2h, 1h30m or 1d)`,
  });
  if (text === "") return bad("it is empty");
  if (text.startsWith("-")) return bad("it is negative");
  PART.lastIndex = 0;
  let ms = 0;
  let consumed = 0;
  let lastUnit = -1;
  for (let m = PART.exec(text); m !== null; m = PART.exec(text)) {
    const [, digits, unit] = m as unknown as [string, string, Unit];
    const rank = ORDER.indexOf(unit);
    if (rank <= lastUnit) return bad("units must appear once each, in the order d, h, m, s");
    lastUnit = rank;
    if (digits.length > 6) return bad("the number is too large");
    ms += Number(digits) * UNIT_MS[unit];
    consumed = PART.lastIndex;
  }
  if (consumed !== text.length || consumed === 0) return bad("use whole numbers followed by d, h, m or s");
  if (ms === 0) return bad("it is zero");
  if (ms > MAX_PARSEABLE_MS) return bad("it is longer than a year");
  return { ok: true, ms };
}

/** `5400000` → `1h30m`; the inverse of parseDuration for whole seconds. */
export function formatDuration(ms: number): string {
  let rest = Math.round(ms / 1000);
  if (rest <= 0) return "0s";
  let out = "";
  for (const unit of ORDER) {
    const size = UNIT_MS[unit] / 1000;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
