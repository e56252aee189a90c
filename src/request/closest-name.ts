/**
 * The candidate closest to a misspelt word, for "did you mean …?" hints. Case is ignored.
 * A candidate counts as close when at most two single-character edits (insert, delete,
 * replace, swap two neighbours) turn one into the other, and fewer than a third of the
 * longer word's characters change. Ties go to the earlier candidate.
 */

const MAX_EDITS = 2;

export function closestName(word: string, candidates: Iterable<string>): string | null {
  const target = word.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = boundedEditDistance(target, candidate.toLowerCase());
    const close = distance <= MAX_EDITS && distance * 3 < Math.max(target.length, candidate.length);
    if (close && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * Optimal string alignment distance between `a` and `b`; when the lengths alone differ by more
 * than MAX_EDITS, that difference (a lower bound) is returned without comparing further.
 */
function boundedEditDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > MAX_EDITS) return Math.abs(a.length - b.length);
  const width = b.length + 1;
  const table = new Array<number>((a.length + 1) * width).fill(0);
  const at = (i: number, j: number): number => table[i * width + j] ?? 0;
  for (let i = 0; i <= a.length; i++) {
    for (let j = 0; j <= b.length; j++) {
      let d: number;
      if (i === 0 || j === 0) {
        d = i + j;
      } else {
        const cost = a[i - 1] === b[j - 1] ? 0 : 1;
        d = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, at(i - 2, j - 2) + 1);
      }
      table[i * width + j] = d;
    }
  }
  return at(a.length, b.length);
}
