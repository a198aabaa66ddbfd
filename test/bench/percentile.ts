/** The sample at quantile `q` (0–1) of ascending `sorted` samples, nearest rank; 0 when empty. */
export function atQuantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}
