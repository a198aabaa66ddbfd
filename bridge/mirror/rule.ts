/**
 * One mirror rule: one librdkafka producer to its upstream, and a pump per mirrored partition.
 *
 * Flow control. The rule caps the bytes handed to the client and not yet reported
 * (`max_in_flight_bytes`) and the records sent past the saved cursors (`max_in_flight`: in the
 * client, or acknowledged and not yet saved, which a crash would send again); librdkafka's own
 * queue is sized just above that cap (client.ts), so memory does not grow with an outage: the log
 * on disk is the buffer.
 *
 * Backlog vs live data. Each partition has its own pump; a pump sends at most one chunk (a read
 * of `chunkBytes`) per turn and then queues behind the other pumps for in-flight room (a FIFO of
 * waiters), so a partition with a few fresh records gets its turn after at most one chunk of each
 * backlogged partition, while a lone backlog still fills the whole in-flight window with large
 * batches (librdkafka packs up to `batch_size` records per request). Within a partition the order
 * is the log's, so live records follow that partition's backlog.
 */
import { isWeirError } from '../../src/errors.js';
import { decodeRecordBatch, type DecodedRecord } from '../../src/kafka/protocol/record-batch.js';
import type { Logger } from '../../src/logger.js';
import type { LogStore } from '../../src/store/types.js';
import { connectProducer, disconnect, producerConfig, type ConnectFailure, type DeliveryReport, type KafkaModule, type LibrdKafkaError, type MessageHeader, type Producer } from './client.js';
import { backoffMs, raceAbort, sleep } from './waiting.js';
import type { MirrorRuleSpec, UpstreamSpec } from './config.js';
import type { PartitionMirror, SentRecord } from './partition.js';

/** Names of the headers every mirrored record gains (documented in the README). */
export const ORIGIN_HEADERS = {
  device: 'weir.origin.device',
  topic: 'weir.origin.topic',
  partition: 'weir.origin.partition',
  offset: 'weir.origin.offset',
} as const;

/** Upstream error codes that refuse a record for good: retrying the same bytes cannot succeed. */
const SIZE_REFUSALS = new Set([10 /* MESSAGE_TOO_LARGE */, 18 /* RECORD_LIST_TOO_LARGE */, 87 /* INVALID_RECORD */]);
const AUTH_REFUSALS = new Set([17 /* INVALID_TOPIC_EXCEPTION */, 29 /* TOPIC_AUTHORIZATION_FAILED */, 31 /* CLUSTER_AUTHORIZATION_FAILED */, 44 /* POLICY_VIOLATION */]);

/** librdkafka's connect: bootstrap, (TLS, SASL,) metadata. */
const CONNECT_TIMEOUT_MS = 10_000;
/** How long the loss line waits for the client to say why, when the statistics saw it first. */
const LOSS_REASON_WAIT_MS = 3_000;

export interface RuleDeps {
  store: LogStore;
  kafka: KafkaModule;
  logger: Logger;
  deviceId: string;
  backoffMinMs: number;
  backoffMaxMs: number;
  /** Writes a refused record to the dead-letter topic; resolves once durable. */
  deadLetter(rule: MirrorRuleSpec, pm: PartitionMirror, offset: number, reason: string): Promise<void>;
  /** Asks for the cursors to be saved soon (coalesced with the periodic save). */
  requestCursorSave(): void;
}

export interface RuleCounters {
  sent: number;
  acked: number;
  ackedBytes: number;
  refused: number;
  deadLettered: number;
  reconnects: number;
}

export class RuleMirror {
  readonly spec: MirrorRuleSpec;
  readonly upstream: UpstreamSpec;
  readonly partitions: PartitionMirror[] = [];
  readonly counters: RuleCounters = { sent: 0, acked: 0, ackedBytes: 0, refused: 0, deadLettered: 0, reconnects: 0 };
  connected = false;
  /** When the current connected/disconnected state began. */
  since = Date.now();
  lastError: { at: number; message: string } | undefined;
  /** Set when on_refused: stop stopped the rule: why, and what to do. */
  stoppedBy: string | undefined;
  private producer: Producer | undefined;
  private producerGen = 0;
  private inFlight = 0;
  private inFlightBytes = 0;
  /** Records acknowledged since a cursor save was last asked for. */
  private ackedSinceSaveRequest = 0;
  private readonly roomWaiters: (() => void)[] = [];
  private readonly changeWaiters: (() => void)[] = [];
  /**
   * The stop signal of the connect loop and its backoffs. Each pump waits on its own signal (see
   * `pumpAborts`): one signal shared by every pump's wait would hold a listener per partition and
   * warn (MaxListenersExceededWarning) past ten partitions.
   */
  private readonly abort = new AbortController();
  private readonly pumpAborts = new Set<AbortController>();
  /** When the loss of the upstream was logged, until its return is: the return is logged with it. */
  private lostAt: number | undefined;
  /** A loss seen with no error of its own yet: logged when one comes, or after LOSS_REASON_WAIT_MS. */
  private pendingLoss: NodeJS.Timeout | undefined;
  private readonly pumps: Promise<void>[] = [];
  private readonly log: Logger;
  private readonly chunkBytes: number;
  private tokens = 0;
  private tokensAt = Date.now();
  private stopping = false;
  private connecting: Promise<void> | undefined;

  constructor(spec: MirrorRuleSpec, upstream: UpstreamSpec, private readonly deps: RuleDeps) {
    this.spec = spec;
    this.upstream = upstream;
    this.log = deps.logger.child({ component: 'mirror', rule: spec.name, upstream: upstream.name });
    this.chunkBytes = Math.max(64 * 1024, Math.min(1024 * 1024, Math.floor(spec.maxInFlightBytes / 4)));
  }

  get inFlightRecords(): number {
    return this.inFlight;
  }

  start(): void {
    this.connecting = this.connectLoop();
  }

  addPartition(pm: PartitionMirror): void {
    this.partitions.push(pm);
    const stop = new AbortController();
    if (this.stopping) stop.abort();
    this.pumpAborts.add(stop);
    this.pumps.push(this.pump(pm, stop.signal).finally(() => this.pumpAborts.delete(stop)));
  }

  /** Stops reading, waits up to `timeoutMs` for reports of what was sent, then disconnects. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    for (const stop of this.pumpAborts) stop.abort();
    clearTimeout(this.pendingLoss);
    this.pendingLoss = undefined;
    this.wakeAll();
    await Promise.all(this.pumps);
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline) await sleep(Math.min(50, deadline - Date.now()));
    await this.connecting?.catch(() => undefined);
    await this.closeProducer();
  }

  // --- connection ---------------------------------------------------------------------------

  /** `connect()` must succeed before `produce()` works: retry with backoff and jitter until it does. */
  private async connectLoop(): Promise<void> {
    for (let attempt = 0; !this.stopping; attempt++) {
      const gen = ++this.producerGen;
      let producer: Producer;
      try {
        producer = new this.deps.kafka.Producer(producerConfig(this.upstream, this.spec, this.deps.deviceId));
      } catch (err) {
        this.noteError(err, 'cannot create the Kafka producer');
        await sleep(backoffMs(attempt, this.deps.backoffMinMs, this.deps.backoffMaxMs), this.abort.signal);
        continue;
      }
      producer.on('delivery-report', (err, report) => this.onReport(gen, err, report));
      producer.on('event.error', (err) => this.onClientError(gen, err));
      producer.on('event.stats', (stats: { message: string }) => this.onStats(gen, stats.message));
      try {
        const connected = connectProducer(producer, CONNECT_TIMEOUT_MS);
        // A stop does not wait out a connect that may take CONNECT_TIMEOUT_MS (an unreachable or
        // refusing upstream): the attempt finishes on its own, and a late success is closed.
        if ((await raceAbort(connected, this.abort.signal)) === 'aborted') {
          void connected.then(() => disconnect(producer, 0), () => undefined);
          return;
        }
      } catch (err) {
        this.noteError(err, 'cannot connect to the upstream', (err as ConnectFailure).reason);
        await sleep(backoffMs(attempt, this.deps.backoffMinMs, this.deps.backoffMaxMs), this.abort.signal);
        continue;
      }
      if (this.stopping) {
        this.producer = producer;
        return;
      }
      producer.setPollInterval(5);
      this.producer = producer;
      this.setConnected(true);
      this.log.info({ bootstrap: this.upstream.bootstrapServers }, 'mirror connected to upstream');
      this.wakeAll();
      return;
    }
  }

  /**
   * Connected = some broker connection is UP, from librdkafka's statistics (once a second). The
   * binding's error events lose librdkafka's error code, so they only feed `lastError`.
   */
  private onStats(gen: number, json: string): void {
    if (gen !== this.producerGen || this.producer === undefined) return;
    try {
      const stats = JSON.parse(json) as { brokers?: Record<string, { nodeid: number; state: string }> };
      const brokers = Object.values(stats.brokers ?? {}).filter((b) => b.nodeid >= 0);
      this.setConnected(brokers.some((b) => b.state === 'UP'));
    } catch {
      // A malformed statistics line changes nothing.
    }
  }

  private onClientError(gen: number, err: LibrdKafkaError): void {
    if (gen !== this.producerGen) return;
    // librdkafka reconnects on its own; an error here is reported, and the link state comes from stats.
    this.noteError(err, 'upstream client error');
    const fatal = err.isFatal === true || /fatal/i.test(`${err.message} ${err.stack ?? ''}`);
    if (fatal) {
      // A fatal idempotence error (e.g. the sequence state cannot be recovered): this producer is
      // done. A new one gets a new producer id; every partition resends from its cursor.
      this.log.warn({ err }, 'fatal producer error: replacing the producer, resending from the cursors');
      this.counters.reconnects++;
      void this.replaceProducer();
    }
  }

  private async replaceProducer(): Promise<void> {
    this.producerGen++;
    const old = this.producer;
    this.producer = undefined;
    this.setConnected(false);
    this.inFlight = 0;
    this.inFlightBytes = 0;
    for (const pm of this.partitions) pm.reset();
    if (old !== undefined) await disconnect(old, 0);
    if (!this.stopping) {
      await sleep(backoffMs(0, this.deps.backoffMinMs, this.deps.backoffMaxMs), this.abort.signal);
      this.connecting = this.connectLoop();
    }
  }

  private async closeProducer(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    this.producerGen++;
    if (p !== undefined) await disconnect(p, 0);
  }

  /**
   * Logs the loss of the upstream and its return, in pairs. The loss line's `reason` is an error
   * noted since the link was last up: an older one (say a connect failure before the first
   * connect) says nothing about this loss. When none was noted yet (statistics can see the broker
   * down before the client reports why), the line waits up to LOSS_REASON_WAIT_MS for one.
   */
  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    const upSince = this.since;
    this.connected = connected;
    this.since = Date.now();
    if (!connected) {
      if (this.lastError !== undefined && this.lastError.at >= upSince) this.logLoss(this.lastError.message);
      else this.pendingLoss = setTimeout(() => this.logLoss(null), LOSS_REASON_WAIT_MS).unref();
      return;
    }
    if (this.pendingLoss !== undefined) {
      // Back before the loss was told: nothing to tell either way.
      clearTimeout(this.pendingLoss);
      this.pendingLoss = undefined;
      return;
    }
    if (this.lostAt === undefined) return;
    const lostForMs = this.since - this.lostAt;
    this.lostAt = undefined;
    let backlogRecords = 0;
    for (const pm of this.partitions) {
      try {
        const { logStartOffset, highWatermark } = this.deps.store.offsets(pm.topic, pm.partition);
        backlogRecords += Math.max(0, highWatermark - Math.max(pm.cursor, logStartOffset));
      } catch {
        // A deleted topic has no backlog.
      }
    }
    this.log.info({ lostForMs, backlogRecords, partitions: this.partitions.length }, 'mirror is back in touch with the upstream; draining the backlog');
  }

  private logLoss(reason: string | null): void {
    clearTimeout(this.pendingLoss);
    this.pendingLoss = undefined;
    if (this.connected || this.stopping) return;
    this.lostAt = this.since;
    this.log.warn({ reason }, 'mirror lost the upstream; records stay in the log until it is back');
  }

  private noteError(err: unknown, what: string, detail?: string): void {
    const message = `${what}: ${err instanceof Error ? err.message : String(err)}${detail === undefined ? '' : ` (librdkafka: ${detail})`}`;
    const repeat = this.lastError?.message === message;
    this.lastError = { at: Date.now(), message };
    if (!repeat) this.log.warn({ err }, what);
    if (this.pendingLoss !== undefined) this.logLoss(message);
  }

  // --- reports ------------------------------------------------------------------------------

  private onReport(gen: number, err: LibrdKafkaError | null, report: DeliveryReport): void {
    if (gen !== this.producerGen) return;
    const entry = report.opaque as SentRecord;
    this.inFlight--;
    this.inFlightBytes -= entry.bytes;
    if (this.roomWaiters.length > 0) this.wakeRoom();
    const pm = entry.pm;
    const current = pm.reported(entry);
    if (err === null || err === undefined || err.code === 0) {
      if (!this.connected) this.setConnected(true);
      if (!current) return;
      this.counters.acked++;
      this.counters.ackedBytes += entry.bytes;
      pm.complete(entry);
      // Acknowledged but not yet saved still counts against the window (see `windowUsed`): save
      // well before it fills, so sending never waits for the periodic save.
      if (++this.ackedSinceSaveRequest >= this.spec.maxInFlight / 4) {
        this.ackedSinceSaveRequest = 0;
        this.deps.requestCursorSave();
      }
      return;
    }
    if (!current) return;
    this.handleFailure(pm, entry, err);
  }

  private handleFailure(pm: PartitionMirror, entry: SentRecord, err: LibrdKafkaError): void {
    const code = typeof err.code === 'number' ? err.code : -1;
    const size = SIZE_REFUSALS.has(code);
    if ((size && entry.alone) || AUTH_REFUSALS.has(code)) {
      // Refused for good, and (for size) sent alone, so it is this record and not its batch.
      this.refuse(pm, entry, `${err.message} (code ${code})`);
      return;
    }
    if (size) {
      // The upstream refused a whole batch: resend its records one at a time to find the culprit.
      pm.isolateUntil = Math.max(pm.isolateUntil, entry.offset + 1);
    } else this.noteError(err, `upstream did not take ${pm.topic}[${pm.partition}] offset ${entry.offset}; resending from the cursor`);
    pm.fail(entry);
  }

  private refuse(pm: PartitionMirror, entry: SentRecord, reason: string): void {
    this.counters.refused++;
    const where = `${pm.topic}[${pm.partition}] offset ${entry.offset}`;
    if (this.spec.onRefused === 'stop') {
      this.stoppedBy = `upstream refused ${where} for good: ${reason}; raise the upstream topic's limit or fix its ACLs, or set on_refused: skip for rule ${this.spec.name}, then restart Weir`;
      this.lastError = { at: Date.now(), message: this.stoppedBy };
      this.log.error({ topic: pm.topic, partition: pm.partition, offset: entry.offset, reason }, 'mirror rule stopped: a record was refused for good (on_refused: stop)');
      pm.fail(entry);
      return;
    }
    this.log.warn({ topic: pm.topic, partition: pm.partition, offset: entry.offset, reason, deadLetterTopic: this.spec.deadLetterTopic }, 'record refused for good: dead-lettered (on_refused: skip)');
    this.deps
      .deadLetter(this.spec, pm, entry.offset, reason)
      .then(() => {
        this.counters.deadLettered++;
        pm.complete(entry);
      })
      .catch((err: unknown) => {
        this.noteError(err, `cannot write ${where} to the dead-letter topic`);
        pm.fail(entry);
      });
  }

  // --- pumps --------------------------------------------------------------------------------

  /**
   * Wakes waiting pumps once a quarter of the window is free, not at the first free slot: a pump
   * woken for one record would read and decode a whole stored batch to send one record of it.
   */
  private wakeRoom(): void {
    if (this.windowUsed() > this.spec.maxInFlight * 0.75 || this.inFlightBytes > this.spec.maxInFlightBytes * 0.75) return;
    for (const w of this.roomWaiters.splice(0)) w();
  }

  /** Cursors were saved: what they covered no longer counts against the window. */
  cursorsSaved(): void {
    if (this.roomWaiters.length > 0) this.wakeRoom();
  }

  /**
   * Records of this rule a crash now would send again: everything sent past the saved cursors
   * (in flight, or acknowledged and not yet saved), and reports still owed by an old generation.
   * `max_in_flight` caps this, so it is also the bound on duplicates upstream after a SIGKILL.
   */
  private windowUsed(): number {
    let unsaved = 0;
    for (const pm of this.partitions) unsaved += Math.max(0, pm.nextRead - pm.persisted);
    return Math.max(unsaved, this.inFlight);
  }

  private wakeAll(): void {
    for (const w of this.roomWaiters.splice(0)) w();
    for (const w of this.changeWaiters.splice(0)) w();
  }

  private hasRoom(): boolean {
    return this.inFlightBytes < this.spec.maxInFlightBytes && this.windowUsed() < this.spec.maxInFlight;
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
    let retries = 0;
    while (!this.stopping) {
      try {
        if (this.producer === undefined || this.stoppedBy !== undefined) {
          await this.waitChange(1000);
          continue;
        }
        if (pm.phase === 'rewinding') {
          await pm.drained();
          if (this.stopping) break;
          if (pm.phase === 'rewinding') {
            await sleep(backoffMs(retries++, this.deps.backoffMinMs, this.deps.backoffMaxMs), signal);
            pm.rewind();
          }
          continue;
        }
        const { logStartOffset, highWatermark } = this.deps.store.offsets(pm.topic, pm.partition);
        if (pm.cursor < logStartOffset && pm.outstanding === 0) {
          pm.skipTo(logStartOffset);
          continue;
        }
        if (pm.nextRead < logStartOffset) pm.nextRead = logStartOffset;
        if (pm.nextRead >= highWatermark) {
          await this.deps.store.waitForData(pm.topic, pm.partition, pm.nextRead, 1000, signal);
          continue;
        }
        if (pm.isolating() && pm.outstanding > 0) {
          await pm.drained();
          continue;
        }
        if (!this.hasRoom()) {
          await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
          continue;
        }
        const bytes = this.sendChunk(pm);
        if (bytes > 0) retries = 0;
        await this.throttle(bytes, signal);
        // Let the other pumps (and report callbacks) have their turn before the next chunk.
        await new Promise<void>((resolve) => setImmediate(resolve));
      } catch (err) {
        if (this.stopping) break;
        if (isWeirError(err, 'UNKNOWN_TOPIC_OR_PARTITION')) {
          // The local topic was deleted: nothing left to mirror (its cursors went with it).
          this.partitions.splice(this.partitions.indexOf(pm), 1);
          this.log.info({ topic: pm.topic, partition: pm.partition }, 'mirrored topic deleted; stopped mirroring it');
          return;
        }
        this.noteError(err, `mirroring ${pm.topic}[${pm.partition}] failed; retrying`);
        await sleep(backoffMs(retries++, this.deps.backoffMinMs, this.deps.backoffMaxMs), signal);
      }
    }
  }

  /** Reads one chunk at `pm.nextRead` and hands its records to the client; returns record bytes sent. */
  private sendChunk(pm: PartitionMirror): number {
    const producer = this.producer!;
    const isolate = pm.isolating();
    const partition = this.spec.partitioning === 'same' ? pm.partition : -1;
    const device = Buffer.from(this.deps.deviceId);
    const topic = Buffer.from(pm.topic);
    const part = Buffer.from(String(pm.partition));
    let sentBytes = 0;
    // The window, counted once per chunk (windowUsed walks the partitions), then per record.
    let room = this.spec.maxInFlight - this.windowUsed();
    outer: for (const records of this.decoded(pm, isolate)) {
      for (const r of records) {
        if (r.offset < pm.nextRead) continue;
        if (room-- <= 0 || this.inFlightBytes >= this.spec.maxInFlightBytes || (isolate && pm.outstanding > 0)) break outer;
        const headers: MessageHeader[] = [];
        let bytes = (r.key?.length ?? 0) + (r.value?.length ?? 0);
        for (const h of r.headers) {
          // librdkafka's binding takes no null header value; Kafka readers see an empty one.
          headers.push({ [h.key]: h.value ?? Buffer.alloc(0) });
          bytes += h.key.length + (h.value?.length ?? 0);
        }
        headers.push(
          { [ORIGIN_HEADERS.device]: device },
          { [ORIGIN_HEADERS.topic]: topic },
          { [ORIGIN_HEADERS.partition]: part },
          { [ORIGIN_HEADERS.offset]: Buffer.from(String(r.offset)) },
        );
        const entry = pm.sent(r.offset, bytes);
        this.inFlight++;
        this.inFlightBytes += bytes;
        try {
          // Copies: key and value are views into the batch, which librdkafka must not outlive.
          producer.produce(pm.upstreamTopic, partition, r.value === null ? null : Buffer.from(r.value), r.key === null ? null : Buffer.from(r.key), r.timestamp, entry, headers);
        } catch (err) {
          this.inFlight--;
          this.inFlightBytes -= bytes;
          pm.reported(entry);
          const code = (err as { code?: unknown }).code;
          if (code === 10) this.refuse(pm, entry, `larger than librdkafka's message.max.bytes: ${(err as Error).message}`);
          else pm.fail(entry);
          throw err;
        }
        this.counters.sent++;
        sentBytes += bytes;
        if (isolate) break outer;
      }
    }
    // A lone record goes out now rather than after linger.ms, so isolation is one round trip each.
    if (isolate && sentBytes > 0) producer.flush(10_000, () => undefined);
    return sentBytes;
  }

  /**
   * The records at `pm.nextRead`: first what is left of the batch decoded last time (a window may
   * close in the middle of a stored batch, which can hold thousands of records), then a fresh read.
   */
  private *decoded(pm: PartitionMirror, isolate: boolean): Generator<DecodedRecord[]> {
    const left = pm.leftover;
    if (left !== undefined && left.length > 0 && left[0]!.offset <= pm.nextRead && left[left.length - 1]!.offset >= pm.nextRead) {
      yield left;
    }
    pm.leftover = undefined;
    const read = this.deps.store.read(pm.topic, pm.partition, pm.nextRead, isolate ? 1 : this.chunkBytes);
    for (const batch of read.batches) {
      const { records } = decodeRecordBatch(batch);
      pm.leftover = records;
      yield records;
    }
  }

  /** Token bucket for `max_bytes_per_second` (record bytes before compression); one second of burst. */
  private async throttle(bytes: number, signal: AbortSignal): Promise<void> {
    const rate = this.spec.maxBytesPerSecond;
    if (rate <= 0 || bytes === 0) return;
    const now = Date.now();
    this.tokens = Math.min(rate, this.tokens + ((now - this.tokensAt) * rate) / 1000) - bytes;
    this.tokensAt = now;
    if (this.tokens < 0) await sleep(Math.ceil((-this.tokens / rate) * 1000), signal);
  }
}
