/**
 * The transaction APIs over the wire, through the listener: the handlers' error mapping per
 * version (PRODUCER_FENCED only to clients that know it, KIP-588), AddPartitionsToTxn with an
 * unknown partition, and Produce's admission of transactional batches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reader } from '../../../../src/kafka/protocol/reader.js';
import { Writer } from '../../../../src/kafka/protocol/writer.js';
import { RawClient, requestFrame, startTestBroker, type TestBroker } from '../helpers.js';
import { readProduceResponse } from '../requests.js';
import { transactionalBatch } from './helpers.js';

let broker: TestBroker;
let client: RawClient;
let correlation = 0;

beforeAll(async () => {
  broker = await startTestBroker({ transactions: {} });
  await broker.store.createTopic('wire', { partitions: 2 });
  client = await RawClient.connect(broker.port);
});
afterAll(async () => {
  client?.destroy();
  await broker?.close();
});

/** Sends one request and returns a reader over its response body (after the response header). */
async function call(apiKey: number, version: number, flexible: boolean, body: (w: Writer) => void): Promise<Reader> {
  const w = new Writer();
  body(w);
  const corr = ++correlation;
  client.write(requestFrame(apiKey, version, corr, w.toBuffer(), { flexible }));
  const frame = await client.frame(corr);
  const r = new Reader(frame, 4); // after the correlation id
  if (flexible) r.taggedFields();
  return r;
}

async function initProducerId(version: number, transactionalId: string, expected: [number, number] = [-1, -1]): Promise<{ errorCode: number; producerId: number; producerEpoch: number }> {
  const flexible = version >= 2;
  const r = await call(22, version, flexible, (w) => {
    w.nullableString(transactionalId, flexible).int32(60_000);
    if (version >= 3) w.int64(expected[0]).int16(expected[1]);
    w.maybeTaggedFields(flexible);
  });
  r.int32();
  return { errorCode: r.int16(), producerId: r.int64(), producerEpoch: r.int16() };
}

/** AddPartitionsToTxn: the error code of each partition, in request order. */
async function addPartitions(version: number, pid: number, epoch: number, topics: [string, number[]][]): Promise<number[]> {
  const f = version >= 3;
  const r = await call(24, version, f, (w) => {
    w.string('w', f).int64(pid).int16(epoch);
    w.array(topics, f, (w, [name, ps]) => w.string(name, f).array(ps, f, (w, p) => w.int32(p)).maybeTaggedFields(f));
    w.maybeTaggedFields(f);
  });
  r.int32();
  return r.array(f, (r) => {
    r.string(f);
    const codes = r.array(f, (r) => { r.int32(); const c = r.int16(); r.maybeTaggedFields(f); return c; });
    r.maybeTaggedFields(f);
    return codes;
  }).flat();
}

async function endTxn(version: number, pid: number, epoch: number, commit: boolean): Promise<number> {
  const f = version >= 3;
  const r = await call(26, version, f, (w) => w.string('w', f).int64(pid).int16(epoch).bool(commit).maybeTaggedFields(f));
  r.int32();
  return r.int16();
}

async function produce(transactionalId: string | null, partition: number, batch: Buffer): Promise<number> {
  const corr = ++correlation;
  const w = new Writer().nullableString(transactionalId).int16(-1).int32(5_000);
  w.array([0], false, (w) => w.string('wire').array([0], false, (w) => w.int32(partition).bytes(batch)));
  client.write(requestFrame(0, 7, corr, w.toBuffer()));
  return readProduceResponse(await client.frame(corr), 7).errorCode;
}

describe('transactions over the wire', () => {
  it('serves a transaction, refuses what is not in it, and answers fencing per version', async () => {
    const first = await initProducerId(1, 'w');
    expect(first).toMatchObject({ errorCode: 0, producerEpoch: 0 });
    const { producerId: pid } = first;

    // KafkaApis: an unknown partition fails the request; the others are not attempted.
    expect(await addPartitions(1, pid, 0, [['wire', [0]], ['nope', [0]]])).toEqual([55, 3]);
    expect(await addPartitions(3, pid, 0, [['wire', [0]]])).toEqual([0]);

    expect(await produce('w', 0, transactionalBatch(pid, 0, 0))).toBe(0);
    expect(await produce('w', 1, transactionalBatch(pid, 0, 0))).toBe(48); // not added: INVALID_TXN_STATE
    expect(await produce(null, 0, transactionalBatch(pid, 0, 1))).toBe(48); // no transactional_id
    expect(await produce('w', 0, transactionalBatch(pid, 1, 0))).toBe(47); // not its epoch

    // Another producer of "w": the open transaction is aborted, epoch 0 fenced.
    expect(await initProducerId(1, 'w')).toMatchObject({ errorCode: 0, producerId: pid, producerEpoch: 2 });
    expect(broker.store.offsets('wire', 0).lastStableOffset).toBe(broker.store.offsets('wire', 0).highWatermark);
    expect(await endTxn(1, pid, 0, true)).toBe(47);
    expect(await endTxn(2, pid, 0, true)).toBe(90);
    expect(await endTxn(3, pid, 0, true)).toBe(90);
    expect(await addPartitions(1, pid, 0, [['wire', [0]]])).toEqual([47]);
    expect(await addPartitions(2, pid, 0, [['wire', [0]]])).toEqual([90]);
    expect((await initProducerId(3, 'w', [pid + 1, 0])).errorCode).toBe(47);
    expect((await initProducerId(4, 'w', [pid + 1, 0])).errorCode).toBe(90);
    expect((await initProducerId(4, '')).errorCode).toBe(42);
  });
});
