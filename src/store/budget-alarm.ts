/**
 * Tells the operator when the disk budget stops appends, and when it no longer does.
 *
 * An append to a topic with `weir.overflow.policy` `block` that finds the budget full waits
 * `store.block_timeout_ms`, then fails retriably, and its producer (an MQTT publisher whose PUBACK
 * is withheld, a Kafka client) retries: from the outside, ingest just stops. So the first append
 * that finds the budget full logs a warning with what to do, again at most once a minute while it
 * lasts (every blocked append and every retry would find it full), and a line when there is room.
 */
import type { Logger } from '../logger.js';

export interface BudgetUse {
  usedBytes: number;
  queuedBytes: number;
  diskBudgetBytes: number;
}

const REPEAT_EVERY_MS = 60_000;

export class BudgetAlarm {
  private fullSince: number | undefined;
  private warnedAt = -Infinity;
  /** Appends that found the budget full since it filled, retries included. */
  private appendsHeld = 0;

  constructor(private readonly log: Logger) {}

  get isFull(): boolean {
    return this.fullSince !== undefined;
  }

  /** An append found the budget full (or retention could not bring the log under it). */
  full(use: BudgetUse, now = Date.now()): void {
    this.fullSince ??= now;
    this.appendsHeld++;
    if (now - this.warnedAt < REPEAT_EVERY_MS) return;
    this.warnedAt = now;
    this.log.warn(
      { ...use, fullForMs: now - this.fullSince, appendsHeld: this.appendsHeld },
      'disk budget full: appends to topics with weir.overflow.policy block wait, then fail retriably, and reject-new ones fail. Free space by lowering retention.ms or retention.bytes, deleting topics, or raising store.disk_budget_bytes',
    );
  }

  /** Retention found room under the budget and no append waits. */
  roomAgain(use: BudgetUse, now = Date.now()): void {
    if (this.fullSince === undefined) return;
    this.log.info({ ...use, fullForMs: now - this.fullSince, appendsHeld: this.appendsHeld }, 'disk budget has room again: appends go on');
    this.fullSince = undefined;
    this.warnedAt = -Infinity;
    this.appendsHeld = 0;
  }
}
