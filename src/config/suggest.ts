/** "Did you mean …" for near misses in config keys and environment variable names. */

/** Case, `-`, `_` and `.` differences do not count: `retention_ms` is `retention.ms`. */
function normalize(s: string): string {
  return s.toLowerCase().replace(/[-_.]/g, '');
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The closest candidate within a small edit distance, or undefined when none is close. */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  const n = normalize(input);
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(n.length / 4)) + 1;
  for (const candidate of candidates) {
    const d = levenshtein(n, normalize(candidate));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
