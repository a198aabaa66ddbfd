/**
 * Admission control for appends: the write queue's caps (records and bytes) and the global disk
 * budget. An append that does not fit waits, bounded by `blockTimeoutMs`, or is refused at once,
 * as the topic's `weir.overflow.policy` says. Memory stays bounded by configuration: the queue can
 * never hold more than its caps, and the number of waiting appenders is capped too. When the budget
 * holds appends back, the operator is told (budget-alarm.ts).
 *
 * Appends to one partition are admitted in the order they arrived: once one waits, every later
 * append to that partition waits behind it, even one that would fit now, or it would be given
 * offsets first. A partition's log is in the order its produce requests arrived (a Kafka client
 * pipelines up to five, and the idempotent producer state has already taken their sequences in
 * that order, KIP-98), and MQTT 3.1.1 §4.6 orders a topic's messages as published. The order is
 * kept per partition, not across the store: a `drop-oldest` topic, admitted past the disk budget,
 * must not wait behind a `block` topic's append waiting for it, nor one partition's big append
 * hold every other partition.
 */
import { WeirError } from '../errors.js';
import type { Logger } from '../logger.js';
import { BudgetAlarm, type BudgetUse } from './budget-alarm.js';
import type { OverflowPolicy } from './topic-config.js';

/** Appenders allowed to wait for room at once; beyond this they are refused (retriably). */
const MAX_WAITING_APPENDERS = 100_000;

export interface AdmissionLimits {
  maxQueuedRecords: number;
  maxQueuedBytes: number;
  blockTimeoutMs: number;
}

export interface AdmissionState {
  /** The budget in force: the configured one, or less while the filesystem is full. */
  diskBudgetBytes(): number;
  queuedRecords(): number;
  queuedBytes(): number;
  usedBytes(): number;
  /** Asks retention to free space now (the budget is full). */
  requestRetention(): void;
}

export class Admission {
  /** Wake-ups of the appends waiting for room, each the first of its partition's line. */
  private readonly waiting = new Set<() => void>();
  /** Per partition with appends waiting, the settling of its last one: the next waits for it. */
  private readonly lines = new Map<object, Promise<void>>();
  /** Appends not yet admitted nor refused, those in a line behind another included. */
  private held = 0;
  private readonly alarm: BudgetAlarm;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly state: AdmissionState,
    log: Logger,
  ) {
    this.alarm = new BudgetAlarm(log);
  }

  /** Wakes waiting appenders so they re-check; called when the queue shrinks or space is freed. */
  wake(): void {
    for (const wake of this.waiting) wake();
  }

  private queueFull(records: number, bytes: number): boolean {
    const q = this.state;
    // An append bigger than the whole cap is admitted alone into an empty queue, never starved.
    if (q.queuedRecords() === 0 && q.queuedBytes() === 0) return false;
    return q.queuedRecords() + records > this.limits.maxQueuedRecords || q.queuedBytes() + bytes > this.limits.maxQueuedBytes;
  }

  private budgetUse(): BudgetUse {
    return { usedBytes: this.state.usedBytes(), queuedBytes: this.state.queuedBytes(), diskBudgetBytes: this.state.diskBudgetBytes() };
  }

  /** After a retention pass: a log still over the budget is reported, and so is room again. */
  afterRetention(): void {
    const use = this.budgetUse();
    if (use.usedBytes > use.diskBudgetBytes) this.alarm.full(use);
    else if (this.alarm.isFull && this.held === 0 && use.usedBytes + use.queuedBytes < use.diskBudgetBytes) this.alarm.roomAgain(use);
  }

  private budgetFull(bytes: number): boolean {
    return this.state.usedBytes() + this.state.queuedBytes() + bytes > this.state.diskBudgetBytes();
  }

  /**
   * Whether an append to `partition` may go in now. The caller enqueues it in the same synchronous
   * step, so appenders cannot overshoot the caps together. This is the common case, and it makes
   * no promise and no closure per append. Not while an earlier append to the partition waits
   * (arrival order, above). `drop-oldest` topics are admitted past the budget: retention then
   * deletes their oldest data.
   */
  fits(partition: object, records: number, bytes: number, policy: OverflowPolicy): boolean {
    if (this.lines.size > 0 && this.lines.has(partition)) return false;
    return !this.queueFull(records, bytes) && (policy === 'drop-oldest' || !this.budgetFull(bytes));
  }

  /**
   * For an append that did not fit: calls `enqueue` once every earlier append to `partition` is
   * admitted or refused and this one fits, in the same synchronous step as the check; or rejects
   * with a WeirError when the append may not go in. The policy (`reject-new` on a full budget)
   * and the cap on waiting appends refuse it at once, before it takes a place in line: a refused
   * append is never written, so it cannot put a later one before an earlier one. The block
   * timeout counts from now, its wait in line included; a closing store refuses it too.
   */
  admitLater(partition: object, records: number, bytes: number, policy: OverflowPolicy, isClosed: () => boolean, enqueue: () => void): Promise<void> {
    try {
      this.refuseAtOnce(bytes, policy);
    } catch (err) {
      return Promise.reject(err);
    }
    const deadline = Date.now() + this.limits.blockTimeoutMs;
    const admit = () => this.waitForRoom(records, bytes, policy, deadline, isClosed, enqueue);
    const ahead = this.lines.get(partition);
    const admitted = ahead === undefined ? admit() : ahead.then(admit);
    const settled = admitted.then(ignore, ignore);
    this.held++;
    this.lines.set(partition, settled);
    void settled.then(() => {
      this.held--;
      if (this.lines.get(partition) === settled) this.lines.delete(partition);
    });
    return admitted;
  }

  /** Refuses an append the policy or the cap on waiting appends does not let wait. */
  private refuseAtOnce(bytes: number, policy: OverflowPolicy): void {
    if (policy !== 'drop-oldest' && this.budgetFull(bytes)) {
      this.state.requestRetention();
      this.alarm.full(this.budgetUse());
      if (policy === 'reject-new') {
        throw new WeirError(
          'DISK_BUDGET_FULL',
          `the disk budget (${this.state.diskBudgetBytes()} bytes) is full and the topic's weir.overflow.policy is reject-new`,
          { details: { diskBudgetBytes: this.state.diskBudgetBytes(), usedBytes: this.state.usedBytes() } },
        );
      }
    }
    if (this.held >= MAX_WAITING_APPENDERS) {
      throw new WeirError('WRITE_QUEUE_FULL', 'too many appends are already waiting for room in the write queue; retry later');
    }
  }

  private async waitForRoom(records: number, bytes: number, policy: OverflowPolicy, deadline: number, isClosed: () => boolean, enqueue: () => void): Promise<void> {
    const budgetApplies = policy !== 'drop-oldest';
    const blocked = () => this.queueFull(records, bytes) || (budgetApplies && this.budgetFull(bytes));
    while (blocked()) {
      if (isClosed()) throw new WeirError('STORE_CLOSED', 'the store is closing');
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        if (budgetApplies && this.budgetFull(bytes)) {
          throw new WeirError(
            'DISK_BUDGET_FULL_RETRIABLE',
            `the disk budget (${this.state.diskBudgetBytes()} bytes) is full; appends waited ${this.limits.blockTimeoutMs} ms (policy block). Free space by lowering retention or raising store.disk_budget_bytes`,
            { details: { diskBudgetBytes: this.state.diskBudgetBytes(), usedBytes: this.state.usedBytes() } },
          );
        }
        throw new WeirError(
          'WRITE_QUEUE_FULL',
          `the write queue stayed full for ${this.limits.blockTimeoutMs} ms (caps: ${this.limits.maxQueuedRecords} records, ${this.limits.maxQueuedBytes} bytes)`,
        );
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiting.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, remaining);
        this.waiting.add(wake);
      });
    }
    if (isClosed()) throw new WeirError('STORE_CLOSED', 'the store is closing');
    enqueue();
  }
}

function ignore(): void {}
