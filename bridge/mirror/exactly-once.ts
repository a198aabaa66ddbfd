/**
 * `delivery: exactly-once`: a rule's records go upstream in transactions (KIP-98), each holding a
 * chunk of records and, in the same transaction, the cursor of every local partition the chunk
 * covers, written to the upstream cursor topic (cursor-topic.ts), as Kafka Connect's exactly-once
 * source connectors write their offsets (KIP-618). A read_committed consumer upstream therefore
 * sees a record exactly when the cursor past it is committed, and never twice: the mirror
 * resumes from the committed cursors.
 *
 * The cycle, one producer at a time:
 *   1. connect the transactional producer and initTransactions: that fences any earlier producer
 *      of the same transactional.id and aborts the transaction it left open (txn-producer.ts);
 *   2. read this rule's cursors from the cursor topic with read_committed, and put every mirrored
 *      partition there (the local cursor is a hint, used where the upstream has none);
 *   3. repeat: read committed records from the partitions up to `max_in_flight` records and
 *      `max_in_flight_bytes`, begin, produce them and the cursors, commit; then move the local
 *      cursors (saved by CursorSaver, for retention and as the hint).
 * Any failure (an outage that outlasts the transaction, an ambiguous commit, a restarted upstream)
 * drops the producer and starts again at 1: what the upstream committed is the truth, so nothing
 * is sent twice and nothing skipped. Being fenced is the exception: another gateway with this
 * device id took over, so the rule stops and says so (status `stopped`, an error log line), rather
 * than fence it back and forth.
 */
import { isWeirError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import type { RecordLog } from '../../src/store/types.js';
import { brokersUp, connectProducer, type KafkaModule, type LibrdKafkaError } from './client.js';
import { readCommittedChunk } from './committed-chunk.js';
import type { MirrorRuleSpec, UpstreamSpec } from './config.js';
import { cursorKey, cursorPartition, cursorRecord, readUpstreamCursors, type UpstreamCursors } from './cursor-topic.js';
import type { RuleCounters } from './deliveries.js';
import { headersWithOrigin, recordOrigin } from './origin.js';
import type { PartitionMirror } from './partition.js';
import { ByteRateLimit } from './rate-limit.js';
import { fencedError, isFenced, transactionalConfig, TxnProducer } from './txn-producer.js';
import { backoffMs, raceAbort, sleep } from './waiting.js';

const CONNECT_TIMEOUT_MS = 10_000;
/** How long one wait for new local data lasts before the partitions are looked at again. */
const IDLE_WAIT_MS = 1000;

export interface ExactlyOnceDeps {
  store: Pick<RecordLog, 'offsets' | 'read' | 'waitForData' | 'abortedTransactions'>;
  kafka: KafkaModule;
  deviceId: string;
  backoffMinMs: number;
  backoffMaxMs: number;
}

export class ExactlyOnceSender {
  connected = false;
  since = Date.now();
  lastError: { at: number; message: string } | undefined;
  /** Set when the rule was fenced: why, and what to do. */
  stoppedBy: string | undefined;
  /** Records in the transaction being written (not yet committed). */
  inFlight = 0;
  /** Transactions committed since start. */
  committedTransactions = 0;
  private stopping = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private current: TxnProducer | undefined;
  /** Partitions put at the upstream's cursor since the current producer was initialised. */
  private positioned = new WeakSet<PartitionMirror>();
  private upstreamCursors: UpstreamCursors = new Map();
  /** The current producer is initialised and its cursors read: from then its statistics tell `connected`. */
  private initialised = false;
  /** The cursor topic's partition count, read with the cursors. */
  private cursorPartitions = 1;
  private wakeIdle: (() => void) | undefined;
  private readonly rateLimit: ByteRateLimit;
  private readonly chunkBytes: number;
  /** Where each partition's reading stands in the open transaction (the cursor it will commit). */
  private readonly reading = new Map<PartitionMirror, number>();

  constructor(
    private readonly spec: MirrorRuleSpec,
    private readonly upstream: UpstreamSpec,
    /** The rule's list: discovery adds to it; a partition of a deleted topic is taken out. */
    private readonly partitions: PartitionMirror[],
    private readonly counters: RuleCounters,
    private readonly deps: ExactlyOnceDeps,
    private readonly log: Logger,
  ) {
    this.rateLimit = new ByteRateLimit(spec.maxBytesPerSecond);
    this.chunkBytes = Math.max(64 * 1024, Math.min(1024 * 1024, Math.floor(spec.maxInFlightBytes / 4)));
  }

  start(): void {
    this.loop = this.run();
  }

  /** A partition was added, or data arrived: look again now. */
  wake(): void {
    this.wakeIdle?.();
  }

  /** Lets the transaction under way commit (up to `timeoutMs`), then disconnects. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    // Ends waits and backoffs; a transaction under way is left to commit.
    this.abort.abort();
    this.wake();
    const finished = await Promise.race([this.loop.then(() => true), sleep(timeoutMs).then(() => false)]);
    if (finished) return;
    // The transaction did not commit in time: the stop goes on without it. The producer is
    // closed once its call returns (txn-producer.ts); if the commit did not make it, the next
    // start's initTransactions aborts the transaction (or its timeout does) and sends it again.
    void this.current?.close();
  }

  private async run(): Promise<void> {
    for (let attempt = 0; !this.stopping; ) {
      try {
        await this.open();
        attempt = 0;
        await this.transactions();
      } catch (err) {
        if (this.stopping) break;
        if (isFenced(this.deps.kafka, err)) {
          this.fenced(err);
          break;
        }
        this.noteError(err, isWeirError(err) ? 'exactly-once mirror could not read its cursors; starting over' : 'exactly-once mirror transaction failed; starting over from the upstream cursors');
        await sleep(backoffMs(attempt++, this.deps.backoffMinMs, this.deps.backoffMaxMs), this.abort.signal);
      } finally {
        await this.close();
      }
    }
  }

  /** Steps 1 and 2: a fresh transactional producer, initialised, and the upstream's cursors. */
  private async open(): Promise<void> {
    const producer = new this.deps.kafka.Producer(transactionalConfig(this.upstream, this.spec, this.deps.deviceId));
    producer.on('event.error', (err: LibrdKafkaError) => this.noteError(err, 'upstream client error'));
    const txn = new TxnProducer(producer);
    producer.on('event.stats', (stats: { message: string }) => {
      const up = brokersUp(stats.message);
      if (this.current === txn && this.initialised && up !== undefined) this.setConnected(up);
    });
    this.current = txn;
    await connectProducer(producer, CONNECT_TIMEOUT_MS);
    producer.setPollInterval(5);
    await txn.init();
    const read = await readUpstreamCursors(this.deps.kafka, this.upstream, this.spec, this.deps.deviceId, this.log, this.abort.signal);
    this.upstreamCursors = read.cursors;
    this.cursorPartitions = read.partitions;
    this.positioned = new WeakSet();
    this.initialised = true;
    this.setConnected(true);
    this.log.info({ cursors: this.upstreamCursors.size, cursorTopic: this.spec.cursorTopic }, 'exactly-once mirror initialised its transactional producer and read its upstream cursors');
  }

  private async close(): Promise<void> {
    const p = this.current;
    this.current = undefined;
    this.initialised = false;
    this.inFlight = 0;
    this.reading.clear();
    this.setConnected(false);
    await p?.close();
  }

  /** Step 3, until stop: one transaction per turn, or a wait for local data. */
  private async transactions(): Promise<void> {
    while (!this.stopping) {
      const txn = this.current;
      if (txn === undefined) return;
      this.positionNew();
      const { records, bytes } = await this.fill(txn);
      if (this.reading.size === 0) {
        await this.waitForData();
        continue;
      }
      await this.commit(txn, records, bytes);
    }
  }

  /** Puts partitions not positioned since the producer was initialised at the upstream's cursor. */
  private positionNew(): void {
    for (const pm of [...this.partitions]) {
      if (this.positioned.has(pm)) continue;
      const offsets = this.localOffsets(pm);
      if (offsets === undefined) continue;
      this.positioned.add(pm);
      const upstream = this.upstreamCursors.get(cursorKey(pm.topic, pm.partition));
      let start = upstream ?? pm.cursor;
      const { logStartOffset, highWatermark } = offsets;
      if (upstream !== undefined && upstream > highWatermark) {
        this.log.warn({ topic: pm.topic, partition: pm.partition, upstreamCursor: upstream, localCursor: pm.cursor, highWatermark }, 'the upstream cursor is past the local log end (the local log was recreated, or another gateway has this device id): resuming from the local cursor');
        start = Math.min(pm.cursor, highWatermark);
      }
      if (start < logStartOffset) {
        this.log.warn({ topic: pm.topic, partition: pm.partition, cursor: start, logStartOffset }, 'records below the log start were deleted before the mirror sent them');
        start = logStartOffset;
      }
      pm.cursor = start;
      pm.nextRead = start;
    }
  }

  /**
   * Reads committed records from the partitions, a chunk of each per pass, until the rule's caps
   * (`max_in_flight` records, `max_in_flight_bytes`) or until none has more, and produces them in
   * a transaction begun at the first record. Returns what it produced.
   *
   * Each transaction starts its passes one partition further on: the caps can end a transaction
   * within its first pass, and the partitions at the head of the list must not take every
   * transaction while the others wait.
   */
  private async fill(txn: TxnProducer): Promise<{ records: number; bytes: number }> {
    let records = 0;
    let bytes = 0;
    let began = false;
    const first = this.partitions.length === 0 ? 0 : this.committedTransactions % this.partitions.length;
    const order = [...this.partitions.slice(first), ...this.partitions.slice(0, first)];
    for (let more = true; more && !this.stopping; ) {
      more = false;
      for (const pm of order) {
        if (!this.partitions.includes(pm)) continue;
        const room = this.spec.maxInFlight - records;
        if (room <= 0 || bytes >= this.spec.maxInFlightBytes) return { records, bytes };
        const from = this.reading.get(pm) ?? pm.nextRead;
        const chunk = this.readChunk(pm, from, room, this.spec.maxInFlightBytes - bytes);
        if (chunk === undefined || chunk.end <= from) continue;
        this.reading.set(pm, chunk.end);
        if (chunk.records.length === 0) continue;
        if (!began) await txn.begin();
        began = true;
        more = true;
        const sent = this.produce(txn, pm, chunk.records);
        records += chunk.records.length;
        bytes += sent;
        await this.rateLimit.throttle(sent, this.abort.signal);
      }
    }
    if (!began && this.reading.size > 0) await txn.begin();
    return { records, bytes };
  }

  /** A chunk of `pm` at `from`, or undefined when its topic was deleted (the partition is dropped). */
  private readChunk(pm: PartitionMirror, from: number, maxRecords: number, bytesLeft: number): ReturnType<typeof readCommittedChunk> | undefined {
    // Within what is left of max_in_flight_bytes, so librdkafka's queue (sized just above it) never fills.
    return this.unlessDeleted(pm, () => readCommittedChunk(this.deps.store, pm.topic, pm.partition, from, maxRecords, Math.max(1, Math.min(this.chunkBytes, bytesLeft))));
  }

  private localOffsets(pm: PartitionMirror): { logStartOffset: number; highWatermark: number } | undefined {
    return this.unlessDeleted(pm, () => this.deps.store.offsets(pm.topic, pm.partition));
  }

  /** `read()`, or undefined when the local topic was deleted: the partition is no longer mirrored. */
  private unlessDeleted<T>(pm: PartitionMirror, read: () => T): T | undefined {
    try {
      return read();
    } catch (err) {
      if (!isWeirError(err, 'UNKNOWN_TOPIC_OR_PARTITION')) throw err;
      const at = this.partitions.indexOf(pm);
      if (at >= 0) this.partitions.splice(at, 1);
      this.reading.delete(pm);
      this.log.info({ topic: pm.topic, partition: pm.partition }, 'mirrored topic deleted; stopped mirroring it');
      return undefined;
    }
  }

  /** Hands the records to the producer (inside the open transaction); returns their record bytes. */
  private produce(txn: TxnProducer, pm: PartitionMirror, records: ReturnType<typeof readCommittedChunk>['records']): number {
    const partition = this.spec.partitioning === 'same' ? pm.partition : -1;
    const origin = recordOrigin(this.deps.deviceId, pm, this.spec.originHeaders);
    let total = 0;
    for (const r of records) {
      const { headers, bytes } = headersWithOrigin(r, origin);
      // Key and value are views into the stored batch: the binding has librdkafka copy them
      // (RK_MSG_COPY) before produce returns, as the at-least-once pumps rely on too.
      txn.producer.produce(pm.upstreamTopic, partition, r.value, r.key, r.timestamp, undefined, headers);
      total += bytes;
      this.inFlight++;
      this.counters.sent++;
    }
    return total;
  }

  /** Writes the cursors of every partition read into the transaction, commits it, moves the local cursors. */
  private async commit(txn: TxnProducer, records: number, bytes: number): Promise<void> {
    for (const [pm, end] of this.reading) {
      const { key, value } = cursorRecord(this.deps.deviceId, this.spec.name, pm.topic, pm.partition, end);
      txn.producer.produce(this.spec.cursorTopic, cursorPartition(key, this.cursorPartitions), value, key, Date.now());
    }
    await txn.commit();
    for (const [pm, end] of this.reading) {
      pm.cursor = end;
      pm.nextRead = end;
    }
    this.reading.clear();
    this.inFlight = 0;
    this.committedTransactions++;
    this.counters.acked += records;
    this.counters.ackedBytes += bytes;
    this.setConnected(true);
  }

  /** Waits until one of the partitions has committed data past where it stands, or a wake, or IDLE_WAIT_MS. */
  private async waitForData(): Promise<void> {
    const stop = new AbortController();
    const woken = new Promise<void>((resolve) => (this.wakeIdle = resolve));
    const waits = this.partitions.map((pm) => this.deps.store.waitForData(pm.topic, pm.partition, pm.nextRead, IDLE_WAIT_MS, stop.signal, 'read_committed').catch(() => false));
    try {
      await raceAbort(Promise.race([woken, sleep(IDLE_WAIT_MS), ...waits]), this.abort.signal);
    } finally {
      this.wakeIdle = undefined;
      stop.abort();
    }
  }

  private fenced(err: unknown): void {
    const error = fencedError(this.deps.deviceId, this.spec.name, err);
    this.stoppedBy = error.message;
    this.lastError = { at: Date.now(), message: error.message };
    this.log.error({ err: error, code: error.code }, 'exactly-once mirror rule fenced by another gateway with the same device id; stopped');
  }

  private noteError(err: unknown, what: string): void {
    const message = `${what}: ${err instanceof Error ? err.message : String(err)}`;
    const repeat = this.lastError?.message === message;
    this.lastError = { at: Date.now(), message };
    if (!repeat) this.log.warn({ err }, what);
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    this.since = Date.now();
  }
}
