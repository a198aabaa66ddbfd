/** Record bodies are walked on produce (src/store/validate.ts): a batch whose CRC matches garbage is refused, never stored. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compress, CompressionType } from '../../../src/kafka/protocol/compression.js';
import { crc32c } from '../../../src/kafka/protocol/crc32c.js';
import { ATTRIBUTES_OFFSET, CRC_OFFSET, encodeRecordBatch, LAST_OFFSET_DELTA_OFFSET, RECORDS_COUNT_OFFSET, RECORDS_OFFSET } from '../../../src/kafka/protocol/record-batch.js';
import { RawClient, requestFrame, startTestBroker, type TestBroker } from './helpers.js';
import { produceBody, readProduceResponse } from './requests.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker?.close();
});

const fixCrc = (b: Buffer) => b.writeUInt32BE(crc32c(b, ATTRIBUTES_OFFSET), CRC_OFFSET);

describe('record bodies are checked on produce', () => {
  it('refuses with CORRUPT_MESSAGE a valid CRC over garbage, a record count the bytes cannot hold, duplicate offset deltas and garbage inside a compressed batch', async () => {
    const b = broker;
    await b.store.createTopic('r');
    const good = () => encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: Buffer.from('hello'), timestamp: 1000 }, { key: null, value: Buffer.from('world'), timestamp: 1000 }] });

    const garbage = good();
    garbage.fill(0xff, RECORDS_OFFSET);
    fixCrc(garbage);

    const huge = good();
    huge.writeInt32BE(0x7fffffff, RECORDS_COUNT_OFFSET);
    huge.writeInt32BE(0x7ffffffe, LAST_OFFSET_DELTA_OFFSET);
    fixCrc(huge);

    const dupDelta = good();
    const second = RECORDS_OFFSET + 1 + dupDelta[RECORDS_OFFSET]! / 2;
    expect(dupDelta[second + 3]).toBe(2); // zigzag 1: the second record's offsetDelta
    dupDelta[second + 3] = 0;
    fixCrc(dupDelta);

    const gz = good();
    const gzRecords = compress(CompressionType.Gzip, Buffer.alloc(40, 0xee));
    const gzipped = Buffer.concat([gz.subarray(0, RECORDS_OFFSET), gzRecords]);
    gzipped.writeInt32BE(gzipped.length - 12, 8);
    gzipped.writeInt16BE(CompressionType.Gzip, ATTRIBUTES_OFFSET);
    fixCrc(gzipped);

    const c = await RawClient.connect(b.port);
    [garbage, huge, dupDelta, gzipped, good()].forEach((records, i) => c.write(requestFrame(0, 3, i, produceBody({ acks: 1, topic: 'r', partition: 0, records }))));
    const frames = await c.waitFrames(5);
    expect(frames.map((f) => readProduceResponse(f, 3).errorCode)).toEqual([2, 2, 2, 2, 0]);
    expect(b.store.offsets('r', 0).highWatermark).toBe(2);
    c.destroy();
  });

  it('refuses records without a key on a compacted topic: INVALID_RECORD with record_errors on v8, CORRUPT_MESSAGE before, compressed batches walked too', async () => {
    const b = broker;
    await b.store.createTopic('latest', { configs: { 'cleanup.policy': 'compact' } });
    await b.store.createTopic('plain');
    const batch = (keys: (string | null)[], compression = CompressionType.None) =>
      encodeRecordBatch({ baseOffset: 0, compression, records: keys.map((k) => ({ key: k === null ? null : Buffer.from(k), value: Buffer.from('v'), timestamp: 1000 })) });
    const sends: { topic: string; records: Buffer; version: number }[] = [
      { topic: 'latest', records: batch(['a', null, 'c', null]), version: 8 },
      { topic: 'latest', records: batch([null, 'b'], CompressionType.Gzip), version: 8 },
      { topic: 'latest', records: batch([null]), version: 7 },
      { topic: 'latest', records: batch(['a', 'b'], CompressionType.Gzip), version: 8 },
      { topic: 'plain', records: batch([null, null]), version: 8 },
    ];
    const c = await RawClient.connect(b.port);
    sends.forEach((s, i) => c.write(requestFrame(0, s.version, i, produceBody({ acks: 1, topic: s.topic, partition: 0, records: s.records, version: s.version }))));
    const [mixed, gzipped, old, keyed, plain] = (await c.waitFrames(sends.length)).map((f, i) => readProduceResponse(f, sends[i]!.version));
    const message = 'Compacted topic cannot accept message without key in topic partition latest-0.';
    expect(mixed).toMatchObject({ errorCode: 87, errorMessage: message, recordErrors: [{ batchIndex: 1, message }, { batchIndex: 3, message }] });
    expect(gzipped).toMatchObject({ errorCode: 87, recordErrors: [{ batchIndex: 0, message }] });
    expect(old!.errorCode).toBe(2);
    expect(keyed).toMatchObject({ errorCode: 0, baseOffset: 0, recordErrors: [] });
    expect(plain).toMatchObject({ errorCode: 0, recordErrors: [] });
    // Nothing of a refused batch is stored, not even its keyed records.
    expect(b.store.offsets('latest', 0).highWatermark).toBe(2);
    c.destroy();
  });
});
