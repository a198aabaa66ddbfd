/**
 * Group commit: appends from every caller and partition queue up here, and each LMDB write
 * transaction carries as many of them as are waiting (up to a byte cap). Offsets are assigned when
 * a transaction is built, and the batches are written in that one transaction, so a crash can
 * never leave a gap or a duplicate offset. An append is reported done only after its transaction
 * is flushed to disk. When a transaction is made is the flush policy's call (flush-window.ts).
 *
 * A transaction writes batches and nothing else, except a segment's row when the segment rolls
 * or has grown CHECKPOINT_BYTES since its row was last written: the next offset and the active
 * segment's counters live in memory and are recovered at open (partition.ts). Each page a commit
 * touches is a page written to flash (lmdb-env.ts). What a transaction writes is built by
 * transaction-builder.ts.
 *
 * One transaction is outstanding at a time, unless enough waits behind it: each flush then carries
 * everything that arrived during the previous one. Under heavy load the queue passes
 * PIPELINE_BYTES and up to MAX_IN_FLIGHT transactions overlap: with lmdb-js `overlappingSync` the
 * next one is built and committed while the previous one is still being flushed. Each transaction
 * applies only if the last batch of the one before it is stored (`writeIfExists`), so when one
 * fails, those issued behind it cannot commit offsets past the hole it left.
 */
import { WeirError } from '../errors.js';
import type { Logger } from '../logger.js';
import { FlushWindow } from './flush-window.js';
import { durable, writeIfExists, type LmdbEnv } from './lmdb-env.js';
import type { PendingAppend } from './pending-append.js';
import { TransactionBuilder } from './transaction-builder.js';

const MAX_IN_FLIGHT = 4;
/** Bytes waiting that justify starting a transaction while another is still in flight. */
const PIPELINE_BYTES = 64 * 1024;
/** A transaction stops taking appends past this many bytes, so one commit cannot hog the writer. */
const MAX_COMMIT_BYTES = 1024 * 1024;
/**
 * A flush window bounds when the ack goes out, not when the commit starts: a commit is started
 * early by about what recent commits took (a decaying maximum, so the tail counts), up to this.
 */
const MAX_COMMIT_LEAD_MS = 250;

export interface CommitHooks {
  /** Bytes added to the log (and payload bytes they carry) by a transaction that became durable. */
  onDurable(bytes: number, records: number, payloadBytes: number): void;
  /** The queue shrank: appenders waiting for room may proceed. */
  onQueueDrained(): void;
  /**
   * A transaction failed: reopen what needs reopening and reload in-memory offsets from disk
   * before going on. Nothing is committed until it resolves.
   */
  recoverAfterFailure(): Promise<void>;
  /** The commit failed with this error (after the appends were rejected). */
  onCommitFailed(cause: unknown): void;
}

export class GroupCommitter {
  private queue: PendingAppend[] = [];
  private queuedRecords = 0;
  private queuedBytes = 0;
  /** What is in `queue`, i.e. not yet in a transaction (`queuedBytes` also counts those in flight). */
  private readonly window = new FlushWindow();
  private inFlight = 0;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private closing = false;
  /** How early a windowed commit starts, ms (see MAX_COMMIT_LEAD_MS). */
  private commitLead = 0;
  private failed = false;
  private recovering = false;
  private readonly idleWaiters: (() => void)[] = [];
  commits = 0;
  /** Key of the last batch the latest transaction writes: one issued behind it applies only if it is stored. */
  private lastBatchKey: Buffer | undefined;

  constructor(
    private readonly env: LmdbEnv,
    private readonly log: Logger,
    private readonly hooks: CommitHooks,
  ) {}

  get records(): number {
    return this.queuedRecords;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  enqueue(append: PendingAppend): void {
    append.partition.appendQueued();
    this.queue.push(append);
    this.queuedRecords += append.recordCount;
    this.queuedBytes += append.bytes;
    this.window.add(append);
    this.schedule();
  }

  /** From now on every append is due at once, whatever its flush window (the store is closing). */
  flushEverything(): void {
    this.closing = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Infinity;
    this.drain();
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0 && !this.recovering) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled) return;
    if (!this.isDue()) {
      this.armTimer(this.window.msUntilDue(performance.now() + this.commitLead));
      return;
    }
    this.scheduled = true;
    // setImmediate, not a microtask: appends made in the same event-loop turn join one commit.
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  /** Wakes `drain` when the earliest flush deadline passes (one timer, moved earlier as needed). */
  private armTimer(wait: number): void {
    const due = performance.now() + wait;
    if (this.timer !== undefined && this.timerDue <= due) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Infinity;
      this.drain();
    }, Math.ceil(wait));
  }

  private drain(): void {
    while (this.queue.length > 0 && this.isDue() && this.mayStartCommit() && !this.failed && !this.recovering) {
      const appends = this.takeTransaction();
      // Only a transaction issued behind another one still in flight depends on it. (Retention
      // may delete a settled transaction's batches, never those of one in flight.)
      const dependsOn = this.inFlight === 0 ? undefined : this.lastBatchKey;
      this.inFlight++;
      void this.commit(appends, dependsOn).finally(() => this.afterCommit(appends));
    }
    if (this.queue.length > 0 && !this.isDue()) this.armTimer(this.window.msUntilDue(performance.now() + this.commitLead));
  }

  private takeTransaction(): PendingAppend[] {
    const appends = this.queue.splice(0, appendsForNextTransaction(this.queue, MAX_COMMIT_BYTES));
    this.window.reset(this.queue);
    return appends;
  }

  private afterCommit(appends: PendingAppend[]): void {
    this.inFlight--;
    this.unqueue(appends); // a no-op unless commit() left early by throwing
    if (this.failed && this.inFlight === 0 && !this.recovering) {
      this.recover();
      return;
    }
    this.drain();
    this.wakeIdle();
  }

  /**
   * Every transaction issued after the failed one has settled (and failed with it or not):
   * recover, reload offsets from disk (the only truth), then go on with the queue.
   */
  private recover(): void {
    this.recovering = true;
    this.hooks
      .recoverAfterFailure()
      .catch((err: unknown) => this.log.error({ err }, 'recovering the store after a failed commit failed'))
      .finally(() => {
        // Offsets now come from disk: the next transaction depends on no earlier one.
        this.lastBatchKey = undefined;
        this.failed = false;
        this.recovering = false;
        this.drain();
        this.wakeIdle();
      });
  }

  private isDue(): boolean {
    return this.closing || this.window.isDue(performance.now() + this.commitLead);
  }

  private mayStartCommit(): boolean {
    return this.inFlight === 0 || (this.inFlight < MAX_IN_FLIGHT && this.window.waitingBytes >= PIPELINE_BYTES);
  }

  private wakeIdle(): void {
    if (this.queue.length === 0 && this.inFlight === 0 && !this.recovering) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /**
   * Takes settled appends off the queue's books. Called before their promises settle, so a caller
   * that appends again at once is not counted twice (durable bytes plus still-queued bytes)
   * against the disk budget or the queue cap.
   */
  private unqueue(appends: PendingAppend[]): void {
    let changed = false;
    for (const a of appends) {
      if (a.unqueued) continue;
      a.unqueued = true;
      changed = true;
      this.queuedRecords -= a.recordCount;
      this.queuedBytes -= a.bytes;
      a.partition.appendSettled();
    }
    if (changed) this.hooks.onQueueDrained();
  }

  /** Builds and issues one transaction, then tells its appends how it ended once it is durable. */
  private async commit(appends: PendingAppend[], dependsOn: Buffer | undefined): Promise<void> {
    const txn = this.issue(appends, dependsOn);
    if (txn === undefined) return;
    let payloadBytes = 0;
    for (const a of appends) payloadBytes += a.payloadBytes;
    this.commits++;
    const started = performance.now();
    try {
      // Acknowledged only once flushed: an append reported done must survive a power cut.
      await durable(txn.write);
      if ((await txn.write) !== true) throw new Error('an earlier group commit failed, so this one was not applied');
      this.commitLead = Math.min(MAX_COMMIT_LEAD_MS, Math.max(performance.now() - started, this.commitLead * 0.9));
    } catch (cause) {
      this.fail(appends, cause);
      return;
    }
    for (const [partition, next] of txn.builder.touched) partition.advanceHighWatermark(next);
    this.hooks.onDurable(txn.builder.bytes, txn.builder.records, payloadBytes);
    this.unqueue(appends);
    for (const a of appends) a.waiter.appendSettled(null, { baseOffset: a.baseOffset, lastOffset: a.lastOffset, logStartOffset: a.partition.logStartOffset });
  }

  /**
   * Issues the transaction's writes, each conditional on the previous transaction's last batch
   * being stored: if an earlier transaction failed, this one writes nothing and resolves false.
   * Undefined (the appends told why) when building failed.
   */
  private issue(appends: PendingAppend[], dependsOn: Buffer | undefined): { write: Promise<boolean>; builder: TransactionBuilder } | undefined {
    let builder: TransactionBuilder | undefined;
    let buildError: unknown;
    // lmdb-js runs the callback synchronously, inside the transaction.
    const write = writeIfExists(this.env.batches, dependsOn, () => {
      const txn = new TransactionBuilder(this.env, Date.now());
      try {
        txn.build(appends);
        builder = txn;
      } catch (err) {
        buildError = err;
      }
      this.lastBatchKey = txn.lastBatchKey ?? this.lastBatchKey;
    });
    if (builder === undefined) {
      // Building failed part-way (a codec error): whatever was written for it may commit, so
      // reload offsets from disk rather than guess.
      this.failed = true;
      this.unqueue(appends);
      for (const a of appends) a.waiter.appendSettled(buildError ?? new Error('building the transaction failed'));
      return undefined;
    }
    return { write, builder };
  }

  private fail(appends: PendingAppend[], cause: unknown): void {
    this.failed = true;
    const err = new WeirError('STORAGE_ERROR', `committing ${appends.length} appends to LMDB failed: ${String(cause)}`, { cause });
    this.log.error({ err }, 'group commit failed; offsets will be reloaded from disk');
    this.unqueue(appends);
    for (const a of appends) a.waiter.appendSettled(err);
    this.hooks.onCommitFailed(cause);
  }
}

/**
 * How many appends at the head of the queue the next transaction takes: at least one, up to
 * `maxBytes`, and never a `joinsNext` append without the one after it (a transaction's markers in
 * several partitions commit together or not at all).
 */
export function appendsForNextTransaction(queue: readonly Pick<PendingAppend, 'bytes' | 'joinsNext'>[], maxBytes: number): number {
  let bytes = 0;
  let taken = 0;
  while (taken < queue.length && (taken === 0 || bytes < maxBytes || queue[taken - 1]!.joinsNext === true)) {
    bytes += queue[taken]!.bytes;
    taken++;
  }
  return taken;
}
