/**
 * What the coordinator's periodic check finds to do (Kafka runs the first two every
 * transaction.abort.timed.out.transaction.cleanup.interval.ms, the last every
 * transaction.remove.expired.transaction.cleanup.interval.ms; Weir does all on one timer):
 *
 * - timed out: Ongoing for longer than its transaction.timeout.ms; aborted with an epoch bump,
 *   which fences the producer that let it time out;
 * - expired: Empty or complete, unchanged for transactional.id.expiration.ms; forgotten.
 *
 * Entries with a transition being written are left for the next check.
 */
import type { Entry } from './entries.js';

export interface DueWork {
  timedOut: Entry[];
  expired: Entry[];
}

export function dueWork(entries: Iterable<Entry>, now: number, idExpirationMs: number): DueWork {
  const work: DueWork = { timedOut: [], expired: [] };
  for (const e of entries) {
    if (e.busy) continue;
    const r = e.record;
    if (r.state === 'Ongoing') {
      if (now > r.startedAt + r.timeoutMs) work.timedOut.push(e);
    } else if (now >= r.updatedAt + idExpirationMs) {
      work.expired.push(e);
    }
  }
  return work;
}
