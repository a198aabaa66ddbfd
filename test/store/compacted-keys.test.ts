/** A topic whose cleanup.policy compacts refuses records without a key, on every append path, as Kafka does. */
import { beforeEach, describe, expect, it } from 'vitest';
import type { WeirError } from '../../src/errors.js';
import { CompressionType } from '../../src/kafka/protocol/compression.js';
import { encodeRecordBatch } from '../../src/kafka/protocol/record-batch.js';
import type { AppendResult } from '../../src/store/types.js';
import { storePerTest } from '../helpers/store-per-test.js';
import { rejectionOf } from '../helpers/expect-weir.js';

const rec = (key: string | null) => ({ key: key === null ? null : Buffer.from(key), value: Buffer.from('v') });

describe('records without a key on a compacted topic', () => {
  const s = storePerTest();

  beforeEach(async () => {
    await s.store.createTopic('latest', { configs: { 'cleanup.policy': 'compact' } });
    await s.store.createTopic('both', { configs: { 'cleanup.policy': 'compact,delete' } });
    await s.store.createTopic('plain');
  });

  it('appendRecords refuses them with INVALID_RECORD (not retriable), naming each, and stores nothing of the append', async () => {
    const err = await rejectionOf(s.store.appendRecords('latest', 0, [rec('a'), rec(null), rec('c'), rec(null)]));
    expect(err.code).toBe('INVALID_RECORD');
    expect(err.retriable).toBe(false);
    expect(err.message).toBe('Compacted topic cannot accept message without key in topic partition latest-0.');
    expect((err.details?.recordErrors as { batchIndex: number }[]).map((e) => e.batchIndex)).toEqual([1, 3]);
    expect((await rejectionOf(s.store.appendRecords('both', 0, [rec(null)]))).code).toBe('INVALID_RECORD');
    expect(s.store.offsets('latest', 0).highWatermark).toBe(0);
  });

  it('appendRecordsTo (MQTT ingest) tells its waiter, once', async () => {
    const outcomes: unknown[] = [];
    await new Promise<void>((resolve) =>
      s.store.appendRecordsTo('latest', 0, [rec(null)], { appendSettled: (err: unknown, _r?: AppendResult) => (outcomes.push(err), resolve()) }),
    );
    expect(outcomes).toHaveLength(1);
    expect((outcomes[0] as WeirError).code).toBe('INVALID_RECORD');
  });

  it('appendBatches (Kafka produce) walks client batches, compressed ones decompressed, and counts records across batches', async () => {
    const batch = (keys: (string | null)[], compression = CompressionType.None) =>
      encodeRecordBatch({ baseOffset: 0, compression, records: keys.map(rec) });
    const two = Buffer.concat([batch(['a', 'b']), batch(['c', null], CompressionType.Lz4)]);
    const err = await rejectionOf(s.store.appendBatches('latest', 0, two));
    expect(err.code).toBe('INVALID_RECORD');
    expect((err.details?.recordErrors as { batchIndex: number }[]).map((e) => e.batchIndex)).toEqual([3]);
    expect((await s.store.appendBatches('latest', 0, batch(['a', 'b'], CompressionType.Gzip))).baseOffset).toBe(0);
  });

  it('a topic whose policy is delete takes them, and so does a compacted one once they have keys', async () => {
    expect((await s.store.appendRecords('plain', 0, [rec(null)])).baseOffset).toBe(0);
    expect((await s.store.appendBatches('plain', 0, encodeRecordBatch({ baseOffset: 0, records: [rec(null)] }))).baseOffset).toBe(1);
    expect((await s.store.appendRecords('latest', 0, [rec('k'), rec('k')])).baseOffset).toBe(0);
    // A tombstone has a key and a null value: accepted.
    expect((await s.store.appendRecords('latest', 0, [{ key: Buffer.from('k'), value: null }])).baseOffset).toBe(2);
  });

  it('follows the policy as it is altered', async () => {
    await s.store.alterTopicConfigs('plain', { 'cleanup.policy': 'compact' });
    expect((await rejectionOf(s.store.appendRecords('plain', 0, [rec(null)]))).code).toBe('INVALID_RECORD');
    await s.store.alterTopicConfigs('plain', {}, ['cleanup.policy']);
    expect((await s.store.appendRecords('plain', 0, [rec(null)])).baseOffset).toBe(0);
  });
});
