/**
 * Runs a benchmark scenario without and with hostile clients beside it (`BENCH_HOSTILE=1` of
 * bench:mqtt and bench:kafka), and the figures that compare the two sides.
 */

export type Side = 'without' | 'with';

/**
 * `rounds` rounds of `once` on each side. Which side goes first alternates from round to round,
 * so a drift of the machine (heat, another process) falls on both sides alike.
 */
export async function sideBySide<R>(rounds: number, once: (side: Side, round: number) => Promise<R>): Promise<Record<Side, R[]>> {
  const runs: Record<Side, R[]> = { without: [], with: [] };
  for (let i = 0; i < rounds; i++) {
    const order: readonly Side[] = i % 2 === 0 ? ['without', 'with'] : ['with', 'without'];
    for (const side of order) runs[side].push(await once(side, i));
  }
  return runs;
}

const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;

/**
 * The comparison: with/without of the median msg/s, the same ratio round by round (the rounds
 * ran back to back, so their ratios are steadier than the medians'), the peak RssAnon of each
 * side, then each side's summary.
 */
export function compareSides<R extends { msgPerSec: number }, S extends { msgPerSec: number; peakRssAnonMB: number }>(runs: Record<Side, R[]>, summarize: (runs: R[]) => S) {
  const without = summarize(runs.without);
  const withHostile = summarize(runs.with);
  return {
    withVsWithout: ratio(withHostile.msgPerSec, without.msgPerSec),
    roundRatios: runs.with.map((r, i) => ratio(r.msgPerSec, runs.without[i]!.msgPerSec)),
    peakRssAnonMB: { without: without.peakRssAnonMB, with: withHostile.peakRssAnonMB },
    without,
    with: withHostile,
  };
}
