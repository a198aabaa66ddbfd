/**
 * The mirror's own Kafka producer: idempotent (KIP-98), acks=all, up to five batches in flight a
 * partition, written on Weir's codec. It takes records one at a time, writes each into its
 * partition's open batch at once (so the caller's key and value views need not outlive the call),
 * seals a batch when it is full or `lingerMs` old, and sends sealed batches to each partition's
 * leader, one batch a partition per Produce request.
 *
 * What happens to a batch after it is sent is batch-outcomes.ts's.
 * Failures are reported, never dropped: the caller's cursor only moves over acknowledged records.
 */
import { ApiKey } from '../../../src/kafka/protocol/api-keys.js';
import type { CompressionType } from '../../../src/kafka/protocol/compression.js';
import { partitionForKey } from '../../../src/kafka/protocol/murmur2.js';
import type { OriginBytes } from '../origin.js';
import type { StoredRecords } from '../stored-records.js';
import { BatchBuilder, stampBatch, type OutRecord, type SealedBatch } from './batch-builder.js';
import { ClusterMetadata } from './cluster.js';
import { ConnectionLost, type BrokerConnection, type WireSecurity } from './connection.js';
import { BOOTSTRAP, ConnectionPool } from './connections.js';
import { addSequence, PartitionQueue, type OutBatch } from './partition-queue.js';
import { BatchOutcomes } from './batch-outcomes.js';
import { describeError, type DeliveryError } from './produce-errors.js';

export type { DeliveryError } from './produce-errors.js';
import { PRODUCE_VERSIONS, readProduceResponse, writeProduceRequest, type ProduceOutcome } from './requests.js';
import { ProducerSessions } from './session.js';

/** Requests in flight on one connection (max.in.flight.requests.per.connection). */
const MAX_REQUESTS_PER_CONNECTION = 5;
/** A Produce request's batches, at most (Kafka's socket.request.max.bytes is 100 MB). */
const MAX_REQUEST_BYTES = 8 * 2 ** 20;
/** How long the broker may wait for the in-sync replicas (the Produce request's timeout_ms). */
const PRODUCE_TIMEOUT_MS = 10_000;
const HOUSEKEEPING_MS = 100;
// Delays and deadlines use performance.now(), the monotonic clock: an edge board without a
// real-time clock has its wall clock stepped by NTP, which must not stall a partition.
/** Sealed builders' buffers kept for reuse, at most (each up to batchBytes). */
const SPARE_BUFFERS = 2;
/** How long an upstream topic may be missing before the operator is told. */
const MISSING_TOPIC_TELL_MS = 10_000;


export interface WireProducerOptions {
  bootstrap: readonly string[];
  clientId: string;
  /** Read at every connect: a rotated password is picked up. */
  security(): WireSecurity;
  compression: CompressionType;
  /** Records a batch (librdkafka's batch.num.messages). */
  batchRecords: number;
  /** Encoded bytes a batch, before compression (librdkafka's batch.size). */
  batchBytes: number;
  lingerMs: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  /** Each record's outcome, in the order of the batch; `err` null = acknowledged. */
  report(err: DeliveryError | null, opaques: readonly unknown[]): void;
  /** Some broker connection is up (true) or none is (false). */
  connection(up: boolean): void;
  /** A problem to tell the operator (the producer goes on). */
  problem(err: Error, what: string): void;
}

export class WireProducer {
  private readonly queues = new Map<string, PartitionQueue[]>();
  private readonly cluster = new ClusterMetadata();
  private readonly pool: ConnectionPool;
  private readonly sessions: ProducerSessions;
  private readonly outcomes: BatchOutcomes;
  private up = false;
  /** Why the last connection closed, until a connect succeeds or fails. */
  private lastClose: Error | undefined;
  private closed = false;
  private tickQueued = false;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly housekeeping: NodeJS.Timeout;
  private readonly spareBuffers: Buffer[] = [];
  /** When each topic was first found missing upstream. */
  private readonly missingSince = new Map<string, number>();
  /** Null-key records stick to one partition per topic until its batch is sealed (Kafka's sticky partitioner, KIP-480). */
  private readonly sticky = new Map<string, number>();

  constructor(private readonly o: WireProducerOptions) {
    this.sessions = new ProducerSessions(o, { ready: () => this.schedule(), problem: (err, what) => o.problem(err, what) });
    this.outcomes = new BatchOutcomes({ ...o, sessions: this.sessions, cluster: this.cluster, seal: this.seal, queues: () => this.allQueues(), closed: () => this.closed });
    this.pool = new ConnectionPool({ ...o, changed: (node, event, err) => this.connectionChanged(node, event, err) });
    this.housekeeping = setInterval(() => this.tick(), HOUSEKEEPING_MS).unref();
    this.schedule();
  }

  /** Whether records for `topic` can be partitioned by key now (its partition count is known). */
  knows(topic: string): boolean {
    this.cluster.want(topic);
    return (this.cluster.topics.get(topic)?.partitions ?? 0) > 0;
  }

  /**
   * Adds one record, its origin headers after its own (origin.ts; `offset` is the local offset they
   * name). `partition` -1 partitions by key as Java's default partitioner does (murmur2; null keys
   * sticky), which needs `knows(topic)`. `recordBytes` is what the caller counts.
   */
  append(topic: string, partition: number, record: OutRecord, recordBytes: number, origin: OriginBytes | undefined, offset: number, opaque: unknown): void {
    const q = this.openBatch(topic, partition, record.key, recordBytes);
    q.open!.append(record, recordBytes, origin, offset);
    this.appended(q, opaque);
  }

  /** As `append`, for the stored record `r` is at: its bytes are copied as they are stored (batch-builder.ts). */
  appendStored(topic: string, partition: number, r: StoredRecords, origin: OriginBytes | undefined, opaque: unknown): void {
    const q = this.openBatch(topic, partition, partition < 0 ? r.key() : null, r.bytes);
    q.open!.appendStored(r, origin);
    this.appended(q, opaque);
  }

  /** The partition's open batch, with room for a record of about `recordBytes` (a full one is sealed first). */
  private openBatch(topic: string, partition: number, key: Buffer | null, recordBytes: number): PartitionQueue {
    if (partition < 0) partition = this.partitionFor(topic, key);
    const count = this.cluster.topics.get(topic)?.partitions ?? 0;
    if (count > 0 && partition >= count) {
      // As librdkafka's produce() refuses an unknown partition: the caller backs off and tries again.
      throw new Error(`the upstream topic ${topic} has ${count} partitions: there is no partition ${partition} to mirror into (add partitions upstream, or use partitioning: key)`);
    }
    const q = this.queue(topic, partition);
    if (q.open !== undefined && q.open.count > 0 && (q.open.size + recordBytes + 32 > this.o.batchBytes || q.open.count >= this.o.batchRecords)) this.sealQueue(q);
    if (q.open === undefined) {
      q.open = new BatchBuilder(this.spareBuffers.pop() ?? Buffer.allocUnsafe(Math.min(this.o.batchBytes, 64 * 1024)));
      q.openedAt = performance.now();
      this.armLinger();
    }
    return q;
  }

  private appended(q: PartitionQueue, opaque: unknown): void {
    q.openOpaques.push(opaque);
    if (q.open!.count >= this.o.batchRecords || q.open!.size >= this.o.batchBytes) this.sealQueue(q);
  }

  /** Seals every open batch and sends now (no linger). */
  flush(): void {
    for (const q of this.allQueues()) this.sealQueue(q);
    this.schedule();
  }

  /** Stops: connections close, nothing more is reported. */
  close(): void {
    this.closed = true;
    clearInterval(this.housekeeping);
    clearTimeout(this.lingerTimer);
    this.pool.close();
  }

  private partitionFor(topic: string, key: Buffer | null): number {
    const count = this.cluster.topics.get(topic)?.partitions ?? 0;
    if (count === 0) throw new Error(`the upstream topic ${topic} has no metadata yet`);
    if (key !== null) return partitionForKey(key, count);
    let p = this.sticky.get(topic);
    if (p === undefined || p >= count) {
      p = Math.floor(Math.random() * count);
      this.sticky.set(topic, p);
    }
    return p;
  }

  private queue(topic: string, partition: number): PartitionQueue {
    let list = this.queues.get(topic);
    if (list === undefined) {
      list = [];
      this.queues.set(topic, list);
      this.cluster.want(topic);
    }
    let q = list[partition];
    if (q === undefined) {
      q = new PartitionQueue(topic, partition);
      q.leader = this.cluster.topics.get(topic)?.leaders[partition] ?? -1;
      list[partition] = q;
    }
    return q;
  }

  private *allQueues(): Generator<PartitionQueue> {
    for (const list of this.queues.values()) for (const q of list) if (q !== undefined) yield q;
  }

  /** Seals a builder and keeps its encoding buffer for the next (a few: a backlog would otherwise allocate and grow one a batch). */
  private readonly seal = (b: BatchBuilder): SealedBatch => {
    const sealed = b.seal(this.o.compression);
    if (this.spareBuffers.length < SPARE_BUFFERS) this.spareBuffers.push(b.buffer);
    return sealed;
  };

  private sealQueue(q: PartitionQueue): void {
    if (q.seal(this.seal)) {
      if (this.sticky.get(q.topic) === q.partition) this.sticky.delete(q.topic);
      this.schedule();
    }
  }

  /** One timer for every open batch: it fires when the oldest is `lingerMs` old. */
  private armLinger(delayMs = this.o.lingerMs): void {
    if (this.lingerTimer !== undefined) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      const now = performance.now();
      let next = Infinity;
      for (const q of this.allQueues()) {
        if (q.open === undefined) continue;
        const due = q.openedAt + this.o.lingerMs;
        if (due <= now) this.sealQueue(q);
        else next = Math.min(next, due);
      }
      if (next !== Infinity) this.armLinger(next - now);
    }, delayMs);
  }

  private schedule(): void {
    if (this.tickQueued || this.closed) return;
    this.tickQueued = true;
    setImmediate(() => {
      this.tickQueued = false;
      this.tick();
    });
  }

  /** One pass: the session, metadata, then whatever each broker can take. */
  private tick(): void {
    if (this.closed) return;
    const now = performance.now();
    if (this.sessions.current === undefined) {
      const conn = this.pool.any();
      if (conn !== undefined) this.sessions.start(conn, now);
    }
    if (this.cluster.due(now)) this.refreshMetadata(now);
    if (this.sessions.current === undefined) return;
    const nodes = new Set<number>();
    for (const q of this.allQueues()) if (q.queued.length > 0 && q.leader >= 0) nodes.add(q.leader);
    for (const node of nodes) {
      const conn = this.pool.get(node);
      if (conn !== undefined) this.sendTo(node, conn, now);
    }
  }

  private refreshMetadata(now: number): void {
    const conn = this.pool.any();
    if (conn === undefined) return;
    this.cluster.refresh(conn, now).then(
      (brokers) => {
        this.pool.setBrokers(brokers);
        this.applyMetadata();
        this.pool.retireBootstrap();
        this.schedule();
      },
      (err: unknown) => {
        if (!(err instanceof ConnectionLost)) this.o.problem(err as Error, 'cannot read the upstream metadata');
      },
    );
  }

  private leads(node: number): boolean {
    for (const q of this.allQueues()) if (q.leader === node) return true;
    return false;
  }

  /** New leaders for every queue; a topic refused for good fails its unsent batches. */
  private applyMetadata(): void {
    for (const [topic, list] of this.queues) {
      const meta = this.cluster.topics.get(topic);
      if (meta === undefined) continue;
      if (meta.errorCode === 0 && meta.partitions === 0) {
        // A topic the broker is creating answers LEADER_NOT_AVAILABLE for a moment: told only when it lasts.
        const since = this.missingSince.get(topic) ?? performance.now();
        this.missingSince.set(topic, since);
        if (performance.now() - since >= MISSING_TOPIC_TELL_MS) {
          this.o.problem(new Error(`the upstream has no topic ${topic}`), 'waiting for the upstream topic; create it there if its brokers do not create topics (auto.create.topics.enable)');
        }
      } else this.missingSince.delete(topic);
      for (const q of list) {
        if (q === undefined) continue;
        q.leader = meta.leaders[q.partition] ?? -1;
        if (meta.errorCode !== 0) this.outcomes.failUnsent(q, { code: meta.errorCode, message: `the upstream refuses topic ${topic}: ${describeError(meta.errorCode, null)}` });
        else if (meta.partitions > 0 && q.partition >= meta.partitions) {
          // Reported, not held: held records would fill the rule's window and stop its other partitions.
          const message = `the upstream topic ${topic} has ${meta.partitions} partitions: there is no partition ${q.partition} to mirror into (add partitions upstream, or use partitioning: key)`;
          this.outcomes.failUnsent(q, { code: 3, message: describeError(3, message) });
        }
      }
    }
  }

  private sendTo(node: number, conn: BrokerConnection, now: number): void {
    const version = conn.version(ApiKey.Produce, PRODUCE_VERSIONS.min, PRODUCE_VERSIONS.max);
    if (version === undefined) {
      this.o.problem(new Error('the upstream serves no Produce version from 3 (Kafka 0.11) up'), 'cannot send');
      return;
    }
    while (conn.inFlight < MAX_REQUESTS_PER_CONNECTION) {
      const parts = this.takeForRequest(node, now);
      if (parts.length === 0) return;
      const byTopic = new Map<string, { partition: number; batch: Buffer }[]>();
      for (const [q, b] of parts) {
        let list = byTopic.get(q.topic);
        if (list === undefined) byTopic.set(q.topic, (list = []));
        list.push({ partition: q.partition, batch: b.bytes });
      }
      const topics = [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
      conn.request(ApiKey.Produce, version, (w) => writeProduceRequest(w, PRODUCE_TIMEOUT_MS, topics), (r) => readProduceResponse(r, version)).then(
        (res) => this.answered(parts, res),
        (err: unknown) => this.lost(parts, err),
      );
    }
  }

  /** The first queued batch of every partition that may send to `node`, stamped, up to MAX_REQUEST_BYTES. */
  private takeForRequest(node: number, now: number): [PartitionQueue, OutBatch][] {
    const session = this.sessions.current!;
    const parts: [PartitionQueue, OutBatch][] = [];
    let bytes = 0;
    for (const q of this.allQueues()) {
      if (!q.canSend(node, now)) continue;
      const batch = q.queued[0]!;
      if (parts.length > 0 && bytes + batch.bytes.length > MAX_REQUEST_BYTES) continue;
      if (q.session !== session.id) {
        q.session = session.id;
        q.nextSequence = 0;
      }
      if (q.halted !== undefined) {
        if (q.rewindSequence !== undefined) q.nextSequence = q.rewindSequence;
        q.halted = undefined;
        q.rewindSequence = undefined;
      }
      if (batch.session !== session.id) {
        batch.session = session.id;
        batch.baseSequence = q.nextSequence;
        q.nextSequence = addSequence(q.nextSequence, batch.count);
        stampBatch(batch, session.producerId, session.epoch, batch.baseSequence);
      }
      q.queued.shift();
      q.inFlight++;
      q.inFlightNode = node;
      parts.push([q, batch]);
      bytes += batch.bytes.length;
    }
    return parts;
  }

  private answered(parts: readonly [PartitionQueue, OutBatch][], res: Map<string, ProduceOutcome[]>): void {
    for (const [q, batch] of parts) {
      q.inFlight--;
      const outcome = res.get(q.topic)?.find((p) => p.index === q.partition);
      if (outcome === undefined) this.outcomes.outcome(q, batch, 13, describeError(13, 'the response does not name this partition'));
      else this.outcomes.outcome(q, batch, outcome.errorCode, describeError(outcome.errorCode, outcome.errorMessage));
    }
    this.schedule();
  }

  /** The connection went with the request: outcome unknown, so every batch in it is sent again. */
  private lost(parts: readonly [PartitionQueue, OutBatch][], err: unknown): void {
    if (this.closed) return;
    for (const [q, batch] of parts) {
      q.inFlight--;
      this.outcomes.outcome(q, batch, 13, describeError(13, `connection lost: ${(err as Error).message}`));
    }
    this.schedule();
  }

  /**
   * The connection state the operator sees. A close alone does not make the link down: a broker
   * closes idle connections (connections.max.idle.ms), and a partition leader's connection is
   * opened again at once; requests the close took with them report their own error (lost()). The
   * link is down when a connect fails with no connection left, and the close that came before is
   * told first, as the reason of the loss.
   */
  private connectionChanged(node: number, event: 'opened' | 'failed' | 'closed', err: Error | undefined): void {
    if (this.closed) return;
    if (event === 'closed') {
      this.lastClose = err ?? new Error('the broker closed the connection');
      if (node !== BOOTSTRAP && this.leads(node)) {
        this.pool.get(node);
        return this.schedule();
      }
    }
    if (event === 'failed' && this.lastClose !== undefined) {
      this.o.problem(this.lastClose, 'lost the connection to the upstream');
      this.lastClose = undefined;
    }
    if (event === 'opened') this.lastClose = undefined;
    const up = this.pool.upCount > 0;
    if (up !== this.up) {
      this.up = up;
      this.o.connection(up);
    }
    if (event === 'failed') this.o.problem(err ?? new Error('connect failed'), 'cannot connect to the upstream');
    this.schedule();
  }
}
