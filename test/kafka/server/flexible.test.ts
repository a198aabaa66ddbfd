/**
 * Flexible versions (KIP-482) that neither kafkajs nor Debian's kcat uses (they stop at Metadata
 * v6/v4, Produce v7, Fetch v11), written and read here field by field from Kafka's message JSON
 * specs (clients/src/main/resources/common/message/*.json), so every compact length and tag
 * buffer is where Java clients expect it.
 */
import { describe, expect, it } from 'vitest';
import { decodeFetchRequest, encodeFetchResponse } from '../../../src/kafka/protocol/apis/fetch.js';
import { decodeMetadataRequest, encodeMetadataResponse } from '../../../src/kafka/protocol/apis/metadata.js';
import { decodeProduceRequest, encodeProduceResponse } from '../../../src/kafka/protocol/apis/produce.js';
import { decodeListOffsetsRequest, encodeListOffsetsResponse } from '../../../src/kafka/protocol/apis/list-offsets.js';
import { decodeDeleteTopicsRequest, encodeDeleteTopicsResponse } from '../../../src/kafka/protocol/apis/delete-topics.js';
import { Reader } from '../../../src/kafka/protocol/reader.js';
import { Writer } from '../../../src/kafka/protocol/writer.js';

const uuid = Buffer.alloc(16, 0xab);

describe('flexible requests decode from spec-written bytes', () => {
  it('Fetch v12 (with a tagged cluster_id at the top level)', () => {
    const w = new Writer().int32(-1).int32(500).int32(1).int32(1 << 20).int8(1).int32(0).int32(-1);
    w.array([0], true, (w) => {
      w.string('t', true).array([0], true, (w) => w.int32(3).int32(7).int64(42).int32(-1).int64(-1).int32(65536).taggedFields());
      w.taggedFields();
    });
    w.array([], true, () => undefined).string('rack', true);
    w.taggedFields([{ tag: 0, write: (w) => w.nullableString('cluster', true) }]);
    const r = new Reader(w.toBuffer());
    expect(decodeFetchRequest(r, 12)).toEqual({
      replicaId: -1, maxWaitMs: 500, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 1, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 't', partitions: [{ partition: 3, currentLeaderEpoch: 7, fetchOffset: 42, logStartOffset: -1, partitionMaxBytes: 65536 }] }],
    });
    expect(r.remaining).toBe(0);
  });

  it('Metadata v12 (topic id + nullable name) and v9', () => {
    const v12 = new Writer().array([0], true, (w) => w.uuid(uuid).nullableString('a', true).taggedFields()).bool(false).bool(false).taggedFields();
    const r12 = new Reader(v12.toBuffer());
    expect(decodeMetadataRequest(r12, 12)).toEqual({ topics: ['a'], allowAutoTopicCreation: false });
    expect(r12.remaining).toBe(0);
    const v9 = new Writer().nullableArray(null, true, () => undefined).bool(true).bool(false).bool(false).taggedFields();
    const r9 = new Reader(v9.toBuffer());
    expect(decodeMetadataRequest(r9, 9)).toEqual({ topics: null, allowAutoTopicCreation: true });
    expect(r9.remaining).toBe(0);
  });

  it('Produce v9, ListOffsets v7, DeleteTopics v6', () => {
    const p = new Writer().nullableString(null, true).int16(-1).int32(3000);
    p.array([0], true, (w) => w.string('t', true).array([0], true, (w) => w.int32(0).nullableBytes(Buffer.from('xyz'), true).taggedFields()).taggedFields());
    p.taggedFields();
    const rp = new Reader(p.toBuffer());
    const produce = decodeProduceRequest(rp, 9);
    expect(produce.topics[0]!.partitions[0]!.records!.toString()).toBe('xyz');
    expect(rp.remaining).toBe(0);

    const lo = new Writer().int32(-1).int8(0).array([0], true, (w) => w.string('t', true).array([0], true, (w) => w.int32(1).int32(-1).int64(-2).taggedFields()).taggedFields()).taggedFields();
    const rlo = new Reader(lo.toBuffer());
    expect(decodeListOffsetsRequest(rlo, 7).topics).toEqual([{ name: 't', partitions: [{ partitionIndex: 1, timestamp: -2 }] }]);
    expect(rlo.remaining).toBe(0);

    const dt = new Writer().array([0], true, (w) => w.nullableString('gone', true).uuid(uuid).taggedFields()).int32(1000).taggedFields();
    const rdt = new Reader(dt.toBuffer());
    expect(decodeDeleteTopicsRequest(rdt, 6)).toEqual({ names: ['gone'], timeoutMs: 1000 });
    expect(rdt.remaining).toBe(0);
  });
});

describe('flexible responses read back field by field', () => {
  it('Fetch v12', () => {
    const batch = Buffer.alloc(2000, 9);
    const w = new Writer();
    encodeFetchResponse(w, 12, { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [{ topic: 't', partitions: [
      { partitionIndex: 0, errorCode: 0, highWatermark: 10, lastStableOffset: 10, logStartOffset: 2, abortedTransactions: [], records: [batch], recordsBytes: batch.length },
      { partitionIndex: 1, errorCode: 1, highWatermark: 5, lastStableOffset: 5, logStartOffset: 0, abortedTransactions: null, records: [], recordsBytes: 0 },
    ] }] });
    const r = new Reader(w.toBuffer());
    expect([r.int32(), r.int16(), r.int32()]).toEqual([0, 0, 0]);
    const topics = r.array(true, (r) => {
      const topic = r.string(true);
      const parts = r.array(true, (r) => {
        const p = [r.int32(), r.int16(), r.int64(), r.int64(), r.int64()];
        const aborted = r.nullableArray(true, (r) => [r.int64(), r.int64(), r.taggedFields()]);
        const preferred = r.int32();
        const records = r.nullableBytes(true);
        r.taggedFields();
        return { p, aborted, preferred, records: records?.length };
      });
      r.taggedFields();
      return { topic, parts };
    });
    r.taggedFields();
    expect(r.remaining).toBe(0);
    expect(topics).toEqual([{ topic: 't', parts: [
      { p: [0, 0, 10, 10, 2], aborted: [], preferred: -1, records: 2000 },
      { p: [1, 1, 5, 5, 0], aborted: null, preferred: -1, records: 0 },
    ] }]);
  });

  it('Metadata v12 and v10', () => {
    for (const version of [10, 12]) {
      const w = new Writer();
      encodeMetadataResponse(w, version, {
        throttleTimeMs: 0, brokers: [{ nodeId: 0, host: 'h', port: 9092, rack: null }], clusterId: 'c', controllerId: 0,
        topics: [{ errorCode: 0, name: 't', topicId: uuid, isInternal: false, partitions: [
          { errorCode: 0, partitionIndex: 0, leaderId: 0, leaderEpoch: 0, replicaNodes: [0], isrNodes: [0], offlineReplicas: [] },
        ] }],
      });
      const r = new Reader(w.toBuffer());
      expect(r.int32()).toBe(0);
      expect(r.array(true, (r) => [r.int32(), r.string(true), r.int32(), r.nullableString(true), r.taggedFields()][1])).toEqual(['h']);
      expect([r.nullableString(true), r.int32()]).toEqual(['c', 0]);
      const topics = r.array(true, (r) => {
        const t = { errorCode: r.int16(), name: r.nullableString(true), id: r.uuid().equals(uuid), internal: r.bool(), partitions: 0, ops: 0 };
        t.partitions = r.array(true, (r) => {
          const fields = [r.int16(), r.int32(), r.int32(), r.int32(), r.array(true, (r) => r.int32()), r.array(true, (r) => r.int32()), r.array(true, (r) => r.int32())];
          r.taggedFields();
          return fields;
        }).length;
        t.ops = r.int32();
        r.taggedFields();
        return t;
      });
      if (version === 10) expect(r.int32()).toBe(-2147483648);
      r.taggedFields();
      expect(r.remaining).toBe(0);
      expect(topics).toEqual([{ errorCode: 0, name: 't', id: true, internal: false, partitions: 1, ops: -2147483648 }]);
    }
  });

  it('Produce v9, ListOffsets v7, DeleteTopics v6', () => {
    const w = new Writer();
    encodeProduceResponse(w, 9, { throttleTimeMs: 0, responses: [{ name: 't', partitions: [{ index: 0, errorCode: 0, baseOffset: 7, logAppendTimeMs: -1, logStartOffset: 0, errorMessage: null }] }] });
    const r = new Reader(w.toBuffer());
    const parts = r.array(true, (r) => {
      r.string(true);
      const p = r.array(true, (r) => {
        const f = [r.int32(), r.int16(), r.int64(), r.int64(), r.int64(), r.array(true, (r) => r.int32()).length, r.nullableString(true)];
        r.taggedFields();
        return f;
      });
      r.taggedFields();
      return p;
    });
    expect([parts, r.int32()]).toEqual([[[[0, 0, 7, -1, 0, 0, null]]], 0]);
    r.taggedFields();
    expect(r.remaining).toBe(0);

    const lw = new Writer();
    encodeListOffsetsResponse(lw, 7, { throttleTimeMs: 0, topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 0, timestamp: -1, offset: 4, leaderEpoch: 0 }] }] });
    const lr = new Reader(lw.toBuffer());
    expect(lr.int32()).toBe(0);
    expect(lr.array(true, (r) => {
      const name = r.string(true);
      const p = r.array(true, (r) => [r.int32(), r.int16(), r.int64(), r.int64(), r.int32(), r.taggedFields()].slice(0, 5));
      r.taggedFields();
      return [name, p];
    })).toEqual([['t', [[0, 0, -1, 4, 0]]]]);
    lr.taggedFields();
    expect(lr.remaining).toBe(0);

    const dw = new Writer();
    encodeDeleteTopicsResponse(dw, 6, { throttleTimeMs: 0, responses: [{ name: 'gone', topicId: uuid, errorCode: 3, errorMessage: 'no' }] });
    const dr = new Reader(dw.toBuffer());
    expect(dr.int32()).toBe(0);
    expect(dr.array(true, (r) => [r.nullableString(true), r.uuid().equals(uuid), r.int16(), r.nullableString(true), r.taggedFields()].slice(0, 4))).toEqual([['gone', true, 3, 'no']]);
    dr.taggedFields();
    expect(dr.remaining).toBe(0);
  });
});
