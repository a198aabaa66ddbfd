/**
 * The pumps of a rule: one per mirrored partition, reading the log from the partition's next
 * offset and handing the records to the producer.
 *
 * Backlog vs live data. A pump sends at most one chunk (a read of `chunkBytes`) per turn and then
 * queues behind the other pumps for in-flight room (SendWindow), so a partition with a few fresh
 * records gets its turn after at most one chunk of each backlogged partition, while a lone backlog
 * still fills the whole in-flight window with large batches (librdkafka packs up to `batch_size`
 * records per request). Within a partition the order is the log's, so live records follow that
 * partition's backlog.
 *
 * Transactions (KIP-98). A pump reads as a read_committed consumer does (committed.ts): up to the
 * last stable offset, so an open transaction's records wait for its marker, and without markers
 * or records of aborted transactions. What it leaves out, the cursor passes like a compacted
 * gap, so it never stops at a marker or an aborted range.
 */
import { isWeirError } from '../../src/errors.js';
import { batchEnd, readBatchHeader } from '../../src/kafka/protocol/record-batch.js';
import type { Logger } from '../../src/logger.js';
import type { RecordLog } from '../../src/store/types.js';
import { CommittedFilter } from './committed.js';
import { recordOrigin } from './origin.js';
import type { MirrorRuleSpec } from './config.js';
import type { Deliveries, RuleCounters } from './deliveries.js';
import type { PartitionMirror } from './partition.js';
import type { ByteRateLimit } from './rate-limit.js';
import type { SendWindow } from './send-window.js';
import type { MirrorLink } from './link-state.js';
import type { RecordSink } from './record-sink.js';
import { StoredRecords } from './stored-records.js';
import { backoffMs, sleep } from './waiting.js';

export { ORIGIN_HEADERS } from './origin.js';

export interface PumpDeps {
  store: Pick<RecordLog, 'offsets' | 'read' | 'waitForData' | 'abortedTransactions'>;
  deviceId: string;
  backoffMinMs: number;
  backoffMaxMs: number;
  spec: MirrorRuleSpec;
  counters: RuleCounters;
  link: MirrorLink;
  window: SendWindow;
  deliveries: Deliveries;
  rateLimit: ByteRateLimit;
  log: Logger;
}

export class Pumps {
  private readonly pumps: Promise<void>[] = [];
  /**
   * Each pump waits on its own stop signal: one signal shared by every pump's wait would hold a
   * listener per partition and warn (MaxListenersExceededWarning) past ten partitions.
   */
  private readonly aborts = new Set<AbortController>();
  private readonly changeWaiters: (() => void)[] = [];
  private readonly chunkBytes: number;
  private stopping = false;

  /** `partitions` is the rule's list: a pump takes its partition out when the topic is deleted. */
  constructor(
    private readonly partitions: PartitionMirror[],
    private readonly deps: PumpDeps,
  ) {
    this.chunkBytes = Math.max(64 * 1024, Math.min(1024 * 1024, Math.floor(deps.spec.maxInFlightBytes / 4)));
  }

  /** Starts the pump of a partition just added to the rule's list. */
  add(pm: PartitionMirror): void {
    const stop = new AbortController();
    if (this.stopping) stop.abort();
    this.aborts.add(stop);
    this.pumps.push(this.pump(pm, stop.signal).finally(() => this.aborts.delete(stop)));
  }

  /** Wakes pumps waiting for a producer or for the rule to go on. */
  wake(): void {
    for (const w of this.changeWaiters.splice(0)) w();
  }

  /** Stops every pump; resolves once they all returned. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const stop of this.aborts) stop.abort();
    this.wake();
    await Promise.all(this.pumps);
  }

  private waitChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.changeWaiters.push(done);
    });
  }

  private async pump(pm: PartitionMirror, signal: AbortSignal): Promise<void> {
    const retries = { count: 0 };
    while (!this.stopping) {
      try {
        await this.turn(pm, signal, retries);
      } catch (err) {
        if (this.stopping) break;
        if (isWeirError(err, 'UNKNOWN_TOPIC_OR_PARTITION')) {
          // The local topic was deleted: nothing left to mirror (its cursors went with it).
          this.partitions.splice(this.partitions.indexOf(pm), 1);
          this.deps.log.info({ topic: pm.topic, partition: pm.partition }, 'mirrored topic deleted; stopped mirroring it');
          return;
        }
        this.deps.link.noteError(err, `mirroring ${pm.topic}[${pm.partition}] failed; retrying`);
        await sleep(this.backoff(retries.count++), signal);
      }
    }
  }

  /** One step of a pump: waits for what it lacks (a producer, data, room), or sends one chunk. */
  private async turn(pm: PartitionMirror, signal: AbortSignal, retries: { count: number }): Promise<void> {
    const { link, deliveries, store, window } = this.deps;
    const sink = link.sink;
    if (sink === undefined || deliveries.stoppedBy !== undefined) return this.waitChange(1000);
    if (pm.phase === 'rewinding') {
      await pm.drained();
      if (this.stopping || pm.phase !== 'rewinding') return;
      await sleep(this.backoff(retries.count++), signal);
      pm.rewind();
      return;
    }
    const { logStartOffset, lastStableOffset } = store.offsets(pm.topic, pm.partition);
    if (pm.cursor < logStartOffset && pm.outstanding === 0) {
      pm.moveToLogStart(logStartOffset);
      return;
    }
    if (pm.nextRead < logStartOffset) pm.nextRead = logStartOffset;
    if (pm.nextRead >= lastStableOffset) {
      await store.waitForData(pm.topic, pm.partition, pm.nextRead, 1000, signal, 'read_committed');
      return;
    }
    if (pm.isolating() && pm.outstanding > 0) return pm.drained();
    if (!window.hasRoom()) return window.waitForRoom();
    const partition = this.deps.spec.partitioning === 'same' ? pm.partition : -1;
    // Partitioning by key needs the upstream's partition count: the client fetches it meanwhile.
    if (!sink.ready(pm.upstreamTopic, partition)) return this.waitChange(100);
    const bytes = this.sendChunk(sink, pm, partition);
    if (bytes > 0) retries.count = 0;
    await this.deps.rateLimit.throttle(bytes, signal);
    // Let the other pumps (and report callbacks) have their turn before the next chunk.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private backoff(attempt: number): number {
    return backoffMs(attempt, this.deps.backoffMinMs, this.deps.backoffMaxMs);
  }

  /** Reads one chunk at `pm.nextRead` and hands its records to the client; returns record bytes sent. */
  private sendChunk(sink: RecordSink, pm: PartitionMirror, partition: number): number {
    const { spec, window } = this.deps;
    const isolate = pm.isolating();
    const origin = recordOrigin(this.deps.deviceId, pm, spec.originHeaders);
    let sentBytes = 0;
    // The window, counted once per chunk (used() walks the partitions), then per record.
    let room = spec.maxInFlight - window.used();
    outer: for (const r of this.stored(pm, isolate)) {
      r.rewind();
      while (r.next()) {
        if (r.offset < pm.nextRead) continue;
        if (room-- <= 0 || window.bytesFull() || (isolate && pm.outstanding > 0)) break outer;
        const bytes = r.bytes;
        const entry = pm.sent(r.offset, bytes);
        window.sent(bytes);
        try {
          sink.send(pm.upstreamTopic, partition, r, origin, entry);
        } catch (err) {
          window.unsent(bytes);
          pm.reported(entry);
          const code = (err as { code?: unknown }).code;
          if (code === 10) this.deps.deliveries.refuse(pm, entry, `larger than librdkafka's message.max.bytes: ${(err as Error).message}`);
          else pm.fail(entry);
          throw err;
        }
        this.deps.counters.sent++;
        sentBytes += bytes;
        if (isolate) break outer;
      }
    }
    // A lone record goes out now rather than after linger.ms, so isolation is one round trip each.
    if (isolate && sentBytes > 0) sink.flush();
    return sentBytes;
  }

  /**
   * The stored batches at `pm.nextRead`: first what is left of the batch opened last time (a
   * window may close in the middle of a stored batch, which can hold thousands of records), then
   * a fresh read.
   *
   * Resumed after yielding a batch, the caller has handed over every record of it at or past
   * `nextRead` (it stops early by leaving its loop, which does not resume here), so the rest of
   * the batch's span holds no record and reading goes on at its end. After compaction that is
   * what moves the pump past a batch kept with no record, or whose records are all below
   * `nextRead`, instead of reading it again and again; a read that returns nothing below the
   * last stable offset means the log ends in a removed range. A marker or a batch of an aborted
   * transaction is passed the same way, unread.
   */
  private *stored(pm: PartitionMirror, isolate: boolean): Generator<StoredRecords> {
    const left = pm.leftover;
    if (left !== undefined && left.base <= pm.nextRead && pm.nextRead < left.end) {
      yield left;
      pm.passed(left.end);
    }
    pm.leftover = undefined;
    const { store } = this.deps;
    const read = store.read(pm.topic, pm.partition, pm.nextRead, isolate ? 1 : this.chunkBytes, 'read_committed');
    if (read.batches.length === 0) pm.passed(read.lastStableOffset);
    const last = read.batches.at(-1);
    const readEnd = last === undefined ? pm.nextRead : batchEnd(readBatchHeader(last));
    const filter = new CommittedFilter(store.abortedTransactions(pm.topic, pm.partition, pm.nextRead, readEnd));
    for (const batch of read.batches) {
      const header = readBatchHeader(batch);
      if (filter.skips(header, batch)) {
        pm.passed(batchEnd(header));
        continue;
      }
      const records = new StoredRecords(batch, header);
      pm.leftover = records;
      yield records;
      pm.passed(records.end);
    }
  }
}

