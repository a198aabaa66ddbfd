/** The sample at quantile `q` (0–1) of ascending `sorted` samples, nearest rank; 0 when empty. */
export function atQuantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

/** The middle sample (the upper one of an even count), as the benchmarks report a repeated run. */
export function median(xs: readonly number[]): number {
  return atQuantile([...xs].sort((a, b) => a - b), 0.5);
}
