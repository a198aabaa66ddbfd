/**
 * A rule's pump over a partition with compaction's gaps (bridge/mirror/pumps.ts): batches removed
 * whole, batches that kept their span with some records thinned out, batches kept with no record
 * at all (an idempotent producer's last batch), and a removed range reaching the high watermark.
 * The rows are written straight into LMDB, as the log cleaner leaves them, and read through
 * PartitionState.read; the upstream is a stand-in for librdkafka's producer that reports each
 * record, and refuses one batch for size when asked (the pump then sends one record at a time).
 * Every record present must go out, in offset order, the cursor must reach the high watermark, and
 * the pump must then wait for data instead of reading the same batch again and again.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { KafkaModule, MessageHeader } from '../../../bridge/mirror/client.js';
import type { MirrorRuleSpec, UpstreamSpec } from '../../../bridge/mirror/config.js';
import { PartitionMirror } from '../../../bridge/mirror/partition.js';
import { RuleMirror } from '../../../bridge/mirror/rule.js';
import { mirrorStatus } from '../../../bridge/mirror/status.js';
import { filterBatch } from '../../../src/kafka/protocol/batch-filter.js';
import { encodeRecordBatch } from '../../../src/kafka/protocol/record-batch.js';
import { logKey } from '../../../src/store/keys.js';
import { openLmdbEnv, type LmdbEnv } from '../../../src/store/lmdb-env.js';
import { PartitionState } from '../../../src/store/partition.js';
import type { RecordLog, TopicAdmin } from '../../../src/store/types.js';
import { silentLogger, tempDir } from '../../helpers/store.js';

/**
 * Batches of three records at [0..2], [3..5], … [24..26]; the high watermark is 27. What compaction
 * left of each: 'whole', 'removed', 'empty' (kept with no record), or the offsets kept.
 */
const LAYOUT: readonly (readonly [number, 'whole' | 'removed' | 'empty' | readonly number[]])[] = [
  [0, 'whole'],
  [3, 'removed'],
  [6, 'empty'],
  [9, [10]],
  [12, [12]],
  [15, 'empty'],
  [18, 'whole'],
  [21, 'empty'],
  [24, 'removed'],
];
const HIGH_WATERMARK = 27;
const PRESENT = [0, 1, 2, 10, 12, 18, 19, 20];
/** Record n's timestamp is TIMESTAMP_0 + n. */
const TIMESTAMP_0 = 1_700_000_000_000;

let env: LmdbEnv;
let cleanup: () => void;
let rule: RuleMirror | undefined;

beforeEach(() => {
  const dir = tempDir();
  cleanup = dir.cleanup;
  env = openLmdbEnv(dir.dir, true);
});

afterEach(async () => {
  await rule?.stop(1000);
  rule = undefined;
  await env.root.close();
  cleanup();
});

function threeRecords(base: number): Buffer {
  const records = [0, 1, 2].map((i) => ({ key: Buffer.from(`k${(base + i) % 4}`), value: Buffer.from(`v${base + i}`), timestamp: TIMESTAMP_0 + base + i }));
  return encodeRecordBatch({ baseOffset: base, records, now: 1000 });
}

type GapStore = Pick<RecordLog, 'offsets' | 'read' | 'waitForData' | 'abortedTransactions'> & Pick<TopicAdmin, 'hasTopic' | 'describeTopic'>;

/** The partition as compaction left it, and a store over it that counts its reads. */
async function compactedPartition(): Promise<{ store: GapStore; reads: () => number }> {
  for (const [base, left] of LAYOUT) {
    if (left === 'removed') continue;
    const whole = threeRecords(base);
    const batch = left === 'whole' ? whole : filterBatch(whole, (r) => left !== 'empty' && left.includes(r.offset), true).batch!;
    await env.batches.put(logKey(1, base), batch);
  }
  const segment = { baseOffset: 0, nextOffset: HIGH_WATERMARK, bytes: 0, createdAt: 0, maxTimestamp: 0 };
  const p = new PartitionState(env, 1, 't', 0, { nextOffset: HIGH_WATERMARK, logStartOffset: 0, segments: [segment] });
  let reads = 0;
  const store: GapStore = {
    hasTopic: () => true,
    describeTopic: () => ({ name: 't', partitions: [{ partition: 0, logStartOffset: 0, highWatermark: p.highWatermark, sizeBytes: 1000, segments: 1 }] }) as ReturnType<TopicAdmin['describeTopic']>,
    offsets: () => ({ logStartOffset: p.logStartOffset, highWatermark: p.highWatermark, lastStableOffset: p.highWatermark }),
    read: (_topic: string, _partition: number, offset: number, maxBytes: number) => {
      reads++;
      return p.read(offset, maxBytes);
    },
    abortedTransactions: () => [],
    // Nothing is appended here: a wait lasts its timeout, or until the pump stops.
    waitForData: (_topic: string, _partition: number, _offset: number, timeoutMs: number, signal?: AbortSignal) =>
      new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), timeoutMs);
        signal?.addEventListener('abort', () => (clearTimeout(t), resolve(false)), { once: true });
      }),
  };
  return { store, reads: () => reads };
}

interface Upstream {
  /** Origin offsets in the order they were handed to the producer. */
  produced: number[];
  /** Origin offsets acknowledged, in report order. */
  acked: number[];
  flushes: number;
}

/**
 * librdkafka's Producer as the mirror uses it: connects at once, reports every record on the next
 * turn of the event loop, refusing for size (MESSAGE_TOO_LARGE, as the upstream refuses a batch
 * over its limit: each record of it gets the error) the first send of the offsets in `refuseOnce`.
 */
function fakeKafka(refuseOnce: Set<number>): { kafka: KafkaModule; upstream: Upstream } {
  const upstream: Upstream = { produced: [], acked: [], flushes: 0 };
  class Producer {
    private readonly listeners = new Map<string, ((...args: unknown[]) => void)[]>();
    on(event: string, fn: (...args: unknown[]) => void): this {
      this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn]);
      return this;
    }
    removeListener(event: string, fn: (...args: unknown[]) => void): this {
      this.listeners.set(event, (this.listeners.get(event) ?? []).filter((f) => f !== fn));
      return this;
    }
    connect(_opts: unknown, cb: (err: Error | null) => void): void {
      setImmediate(() => cb(null));
    }
    setPollInterval(): void {}
    produce(_topic: string, _partition: number, _value: Buffer | null, _key: Buffer | null, _ts: number, opaque: unknown, headers: MessageHeader[]): void {
      const offset = Number(headers.find((h) => 'weir.origin.offset' in h)!['weir.origin.offset']);
      upstream.produced.push(offset);
      const refused = refuseOnce.delete(offset);
      setImmediate(() => {
        if (!refused) upstream.acked.push(offset);
        const err = refused ? Object.assign(new Error('Broker: Message size too large'), { code: 10 }) : null;
        for (const fn of this.listeners.get('delivery-report') ?? []) fn(err, { opaque, topic: 'up.t', partition: 0, offset: 0 });
      });
    }
    flush(_ms: number, cb: () => void): void {
      upstream.flushes++;
      cb();
    }
    disconnect(_ms: number, cb: () => void): void {
      cb();
    }
  }
  return { kafka: { Producer } as unknown as KafkaModule, upstream };
}

const UPSTREAM: UpstreamSpec = { name: 'central', bootstrapServers: ['127.0.0.1:1'], clientId: 'weir', tls: undefined, sasl: undefined };
const SPEC: MirrorRuleSpec = {
  name: 'r1',
  upstream: 'central',
  topics: ['t'],
  upstreamTopic: 'up.{topic}',
  partitioning: 'same',
  batchSize: 1000,
  lingerMs: 5,
  compression: 'none',
  maxInFlight: 1000,
  maxInFlightBytes: 1 << 20,
  onRefused: 'stop',
  deadLetterTopic: 'weir.mirror.dead-letter',
  maxBytesPerSecond: 0,
  delivery: 'at-least-once',
  cursorTopic: 'weir-mirror-cursors',
  originHeaders: 'four',
  // The stand-in above is for librdkafka's producer.
  client: 'librdkafka',
};

/** A rule over the compacted partition, not started. */
function ruleOver(store: GapStore, kafka: KafkaModule): RuleMirror {
  return new RuleMirror(SPEC, UPSTREAM, {
    store,
    kafka,
    logger: silentLogger,
    deviceId: 'edge-1',
    backoffMinMs: 10,
    backoffMaxMs: 20,
    deadLetter: () => Promise.reject(new Error('no dead-letter topic in this test')),
    requestCursorSave: () => undefined,
  });
}

/** Starts a rule over the compacted partition from `cursor`, as the mirror does at start. */
async function startRule(cursor: number, refuseOnce: number[] = []): Promise<{ pm: PartitionMirror; upstream: Upstream; reads: () => number }> {
  const { store, reads } = await compactedPartition();
  const { kafka, upstream } = fakeKafka(new Set(refuseOnce));
  rule = ruleOver(store, kafka);
  const pm = new PartitionMirror({ cursorName: 'mirror.r1', topic: 't', partition: 0, upstreamTopic: 'up.t', cursor });
  rule.addPartition(pm);
  rule.start();
  return { pm, upstream, reads };
}

/** Waits until the cursor reaches the high watermark; fails with where it stopped after `ms`. */
async function cursorAtEnd(pm: PartitionMirror, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (pm.cursor < HIGH_WATERMARK && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expect({ cursor: pm.cursor, nextRead: pm.nextRead }).toEqual({ cursor: HIGH_WATERMARK, nextRead: HIGH_WATERMARK });
}

/** Caught up, the pump waits for data: it reads nothing more in `ms`. */
async function expectIdle(reads: () => number, ms = 300): Promise<void> {
  const before = reads();
  await new Promise((r) => setTimeout(r, ms));
  expect(reads() - before).toBe(0);
}

it('sends every record present once, in offset order, passes the gaps and kept-empty batches, and then waits', async () => {
  const { pm, upstream, reads } = await startRule(0);
  await cursorAtEnd(pm);
  await expectIdle(reads);
  expect(upstream.produced).toEqual(PRESENT);
  expect(upstream.acked).toEqual(PRESENT);
});

it('resumes from a cursor saved in a removed range or inside a kept-empty batch', async () => {
  const fromRemoved = await startRule(4);
  await cursorAtEnd(fromRemoved.pm);
  expect(fromRemoved.upstream.acked).toEqual(PRESENT.filter((o) => o >= 4));
  await rule!.stop(1000);
  const fromEmpty = await startRule(16);
  await cursorAtEnd(fromEmpty.pm);
  await expectIdle(fromEmpty.reads);
  expect(fromEmpty.upstream.acked).toEqual([18, 19, 20]);
});

it('sending one record at a time after a size refusal, passes thinned and kept-empty batches without sending or skipping a record', async () => {
  // The batch of 18-20 is refused for size: the rule rewinds to the cursor (13, after 12) and sends
  // one record at a time up to 20, reading one stored batch at a time: [12..14] holds only 12,
  // already sent, and [15..17] holds nothing.
  const { pm, upstream, reads } = await startRule(0, [18, 19, 20]);
  await cursorAtEnd(pm);
  await expectIdle(reads);
  expect(upstream.produced).toEqual([...PRESENT, 18, 19, 20]);
  expect(upstream.flushes).toBe(3); // 18, 19 and 20, each sent alone
  expect(upstream.acked).toEqual(PRESENT);
  expect(pm.isolating()).toBe(false);
});

it('mirror status: the age of the oldest unsent record is found past a kept-empty and a thinned batch, and is none past the last record', async () => {
  const { store } = await compactedPartition();
  const idle = ruleOver(store, fakeKafka(new Set()).kafka); // not started: it sends nothing
  const statusAt = (cursor: number) => {
    idle.partitions.splice(0, 1, new PartitionMirror({ cursorName: 'mirror.r1', topic: 't', partition: 0, upstreamTopic: 'up.t', cursor }));
    const s = mirrorStatus('edge-1', [idle], store as unknown as TopicAdmin & RecordLog);
    const p = s.rules[0]!.partitions[0]!;
    return { lagRecords: p.lagRecords, oldestTimestamp: p.oldestUnsentAgeMs === null ? null : s.now - p.oldestUnsentAgeMs };
  };
  // [6..8] holds nothing, [9..11] only 10.
  expect(statusAt(6)).toEqual({ lagRecords: 21, oldestTimestamp: TIMESTAMP_0 + 10 });
  // [12..14] holds only 12, below the cursor; [15..17] nothing.
  expect(statusAt(13)).toEqual({ lagRecords: 14, oldestTimestamp: TIMESTAMP_0 + 18 });
  // Lag is counted in offsets: past the last record, six offsets and no record are left.
  expect(statusAt(21)).toEqual({ lagRecords: 6, oldestTimestamp: null });
});
