/** Idempotent produce (KIP-98): duplicates get the original offset, gaps error 45, old epochs 47. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reader } from '../../../src/kafka/protocol/reader.js';
import { Writer } from '../../../src/kafka/protocol/writer.js';
import { encodeRecordBatch } from '../../../src/kafka/protocol/record-batch.js';
import { incrementSequence, MAX_TRACKED_PRODUCERS, ProducerStateManager } from '../../../src/kafka/server/producer-state.js';
import { RawClient, requestFrame, startTestBroker, type TestBroker } from './helpers.js';
import { produceBody, readProduceResponse } from './requests.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker?.close();
});

function idemBatch(producerId: number, epoch: number, seq: number, n: number): Buffer {
  return encodeRecordBatch({
    baseOffset: 0, producerId, producerEpoch: epoch, baseSequence: seq,
    records: Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`s${seq + i}`) })),
  });
}

describe('idempotent produce over the wire', () => {
  it('a retried batch is not written twice, a gap is refused, an old epoch is fenced', async () => {
    const c = await RawClient.connect(broker.port);
    // InitProducerId v1: transactional_id null, timeout.
    c.write(requestFrame(22, 1, 1, Buffer.from('ffff' + '0000ea60', 'hex')));
    const [init] = await c.waitFrames(1);
    const producerId = Number(init!.readBigInt64BE(10));
    const epoch = init!.readInt16BE(18);
    expect(init!.readInt16BE(8)).toBe(0);
    const send = (corr: number, b: Buffer) => c.write(requestFrame(0, 7, corr, produceBody({ acks: -1, topic: 'idem', partition: 0, records: b })));

    send(2, idemBatch(producerId, epoch, 0, 3));
    send(3, idemBatch(producerId, epoch, 3, 2));
    send(4, idemBatch(producerId, epoch, 0, 3)); // retry of the first: duplicate
    send(5, idemBatch(producerId, epoch, 9, 1)); // gap
    send(6, idemBatch(producerId, epoch, 5, 1)); // next in line
    const frames = (await c.waitFrames(6)).slice(1).map((f) => readProduceResponse(f, 7));
    expect(frames.map((f) => [f.errorCode, f.baseOffset])).toEqual([[0, 0], [0, 3], [0, 0], [45, -1], [0, 5]]);
    expect(broker.store.offsets('idem', 0).highWatermark).toBe(6);

    // KIP-360 bump with v3: same producer id, epoch + 1; the old epoch is then fenced.
    // InitProducerId v3 is flexible: header v2, compact string, tagged fields; response header v1.
    const body = new Writer().nullableString(null, true).int32(60_000).int64(producerId).int16(epoch).taggedFields().toBuffer();
    c.write(requestFrame(22, 3, 7, body, { flexible: true }));
    const bump = new Reader((await c.waitFrames(7))[6]!, 4);
    bump.taggedFields();
    bump.int32();
    expect([bump.int16(), bump.int64(), bump.int16()]).toEqual([0, producerId, epoch + 1]);
    send(8, idemBatch(producerId, epoch + 1, 0, 1));
    send(9, idemBatch(producerId, epoch, 6, 1));
    const [newEpoch, fenced] = (await c.waitFrames(9)).slice(7).map((f) => readProduceResponse(f, 7));
    expect(newEpoch!.errorCode).toBe(0);
    expect(fenced!.errorCode).toBe(47);
    c.destroy();
  });

  it('a refused batch fails the pipelined batches behind it (45), nothing is written past the gap, and its retry is taken', async () => {
    // Kafka validates the records (size, CRC, LogValidator) before it looks at producer state
    // (Log.append), so a refused batch never advances the sequence the next one is checked against.
    await broker.store.createTopic('idem-gap', { configs: { 'max.message.bytes': '400' } });
    const c = await RawClient.connect(broker.port);
    c.write(requestFrame(22, 1, 1, Buffer.from('ffff' + '0000ea60', 'hex')));
    const [init] = await c.waitFrames(1);
    const producerId = Number(init!.readBigInt64BE(10));
    const epoch = init!.readInt16BE(18);
    const frame = (corr: number, b: Buffer) => requestFrame(0, 7, corr, produceBody({ acks: -1, topic: 'idem-gap', partition: 0, records: b }));
    // A producer the log does not know has any first sequence accepted (Kafka's checkSequence),
    // so the refused batch comes after one that was written.
    c.write(frame(2, idemBatch(producerId, epoch, 0, 2)));
    expect(readProduceResponse((await c.waitFrames(2))[1]!, 7).errorCode).toBe(0);
    const tooLarge = idemBatch(producerId, epoch, 2, 40);
    expect(tooLarge.length).toBeGreaterThan(400);
    // Both requests in one write: the listener reads them in one chunk and starts both at once.
    c.write(Buffer.concat([frame(3, tooLarge), frame(4, idemBatch(producerId, epoch, 42, 2))]));
    const refused = (await c.waitFrames(4)).slice(2).map((f) => readProduceResponse(f, 7).errorCode);
    expect(refused).toEqual([10, 45]);
    expect(broker.store.offsets('idem-gap', 0).highWatermark).toBe(2);

    c.write(frame(5, idemBatch(producerId, epoch, 2, 2)));
    const retried = readProduceResponse((await c.waitFrames(5))[4]!, 7);
    expect([retried.errorCode, retried.baseOffset]).toEqual([0, 2]);
    expect(broker.stored('idem-gap', 0).records.map((r) => r.value?.toString())).toEqual(['s0', 's1', 's2', 's3']);
    c.destroy();
  });
});

describe('ProducerStateManager', () => {
  /** A log that knows no producer (a fresh one). */
  const emptyLog = { producerState: () => undefined, offsets: () => ({ logStartOffset: 0, highWatermark: 0, lastStableOffset: 0 }) };
  const ok = (offset: number) => () => Promise.resolve({ baseOffset: offset, lastOffset: offset, logStartOffset: 0 });

  it('accepts any first sequence from an unknown producer, keeps the last 5 for duplicates', async () => {
    const m = new ProducerStateManager(emptyLog);
    const info = (seq: number) => ({ producerId: 7, producerEpoch: 0, firstSeq: seq, recordCount: 1 });
    expect(await m.append('t', 0, info(40), ok(0))).toMatchObject({ ok: true, duplicate: false });
    for (let s = 41; s < 47; s++) await m.append('t', 0, info(s), ok(s - 40));
    expect(await m.append('t', 0, info(46), ok(99))).toEqual({ ok: true, duplicate: true, result: { baseOffset: 6, lastOffset: 6, logStartOffset: 0 } });
    // 41 has left the window of 5: neither a duplicate nor the next sequence.
    expect(await m.append('t', 0, info(41), ok(99))).toMatchObject({ ok: false, error: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    // Another partition of the same producer is tracked on its own.
    expect(await m.append('t', 1, info(3), ok(0))).toMatchObject({ ok: true });
  });

  it('a failed append is forgotten, so the retry is written', async () => {
    const m = new ProducerStateManager(emptyLog);
    const info = { producerId: 1, producerEpoch: 0, firstSeq: 0, recordCount: 2 };
    await expect(m.append('t', 0, info, () => Promise.reject(new Error('disk')))).rejects.toThrow('disk');
    expect(await m.append('t', 0, info, ok(0))).toMatchObject({ ok: true, duplicate: false });
  });

  it.each([[0, 1], [1, 0]])('batches in flight that all fail (a failed commit fails those behind it), in order %i then %i, rewind the sequence to the first', async (a, b) => {
    const m = new ProducerStateManager(emptyLog);
    const info = (seq: number) => ({ producerId: 2, producerEpoch: 0, firstSeq: seq, recordCount: 2 });
    await m.append('t', 0, info(0), ok(0));
    const failures: ((err: Error) => void)[] = [];
    const failing = () => new Promise<never>((_, reject) => failures.push(reject));
    const appends = [m.append('t', 0, info(2), failing), m.append('t', 0, info(4), failing)];
    for (const i of [a, b]) {
      failures[i]!(new Error('commit'));
      await expect(appends[i]).rejects.toThrow('commit');
    }
    expect(await m.append('t', 0, info(2), ok(2))).toMatchObject({ ok: true, duplicate: false });
  });

  it('a batch that fails after a later one was written leaves the sequence past the written one', async () => {
    const m = new ProducerStateManager(emptyLog);
    const info = (seq: number) => ({ producerId: 3, producerEpoch: 0, firstSeq: seq, recordCount: 2 });
    await m.append('t', 0, info(0), ok(0));
    let refuse!: (err: Error) => void;
    const refused = m.append('t', 0, info(2), () => new Promise<never>((_, reject) => { refuse = reject; }));
    expect(await m.append('t', 0, info(4), ok(2))).toMatchObject({ ok: true });
    refuse(new Error('write queue full'));
    await expect(refused).rejects.toThrow('write queue full');
    expect(await m.append('t', 0, info(2), ok(4))).toMatchObject({ ok: false, error: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    expect(await m.append('t', 0, info(6), ok(4))).toMatchObject({ ok: true, duplicate: false });
  });

  it('remembers the epochs of at most MAX_TRACKED_PRODUCERS producer ids, forgetting the oldest', () => {
    const m = new ProducerStateManager(emptyLog);
    const first = m.initProducerId(-1, -1) as { producerId: number; producerEpoch: number };
    const second = m.initProducerId(-1, -1) as { producerId: number; producerEpoch: number };
    // A KIP-360 bump with a stale epoch is refused while the id is remembered...
    expect(m.initProducerId(second.producerId, 5)).toEqual({ error: 'INVALID_PRODUCER_EPOCH' });
    for (let i = 0; i < MAX_TRACKED_PRODUCERS - 1; i++) m.initProducerId(-1, -1);
    // ...and still is after MAX_TRACKED_PRODUCERS - 1 more; the first id, initialised longest ago,
    // is forgotten: its bump is taken at the epoch the client sends.
    expect(m.initProducerId(second.producerId, 5)).toEqual({ error: 'INVALID_PRODUCER_EPOCH' });
    expect(m.initProducerId(first.producerId, 5)).toEqual({ producerId: first.producerId, producerEpoch: 6 });
  });

  it('wraps sequences at 2^31 - 1', () => {
    expect(incrementSequence(0x7fffffff, 1)).toBe(0);
    expect(incrementSequence(0x7ffffffe, 3)).toBe(1);
    expect(incrementSequence(5, 2)).toBe(7);
  });
});
