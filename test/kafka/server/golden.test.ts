/**
 * Golden bytes. Requests: frames kafkajs wrote on the wire (captured by
 * test/fixtures/kafka-requests/capture-kafkajs.mjs) decode to the values kafkajs was given and
 * leave no byte unread. Responses: byte-exact for small cases, and decoded by kafkajs's own
 * response decoders (an independent implementation) for the rest, over a real socket.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeApiVersionsRequest } from '../../../src/kafka/protocol/apis/api-versions.js';
import { decodeCreateTopicsRequest } from '../../../src/kafka/protocol/apis/create-topics.js';
import { decodeDeleteTopicsRequest } from '../../../src/kafka/protocol/apis/delete-topics.js';
import { decodeInitProducerIdRequest } from '../../../src/kafka/protocol/apis/init-producer-id.js';
import { decodeListOffsetsRequest } from '../../../src/kafka/protocol/apis/list-offsets.js';
import { decodeMetadataRequest } from '../../../src/kafka/protocol/apis/metadata.js';
import { decodeProduceRequest } from '../../../src/kafka/protocol/apis/produce.js';
import { readRequestHeader, type RequestHeader } from '../../../src/kafka/protocol/header.js';
import { decodeRecordBatch } from '../../../src/kafka/protocol/record-batch.js';
import { Reader } from '../../../src/kafka/protocol/reader.js';
import { RawClient, requestFrame, startTestBroker, type TestBroker } from './helpers.js';

const require = createRequire(import.meta.url);

function fixture(name: string): { header: RequestHeader; reader: Reader; frame: Buffer } {
  const frame = Buffer.from(readFileSync(new URL(`../../fixtures/kafka-requests/${name}.hex`, import.meta.url), 'utf8').trim(), 'hex');
  const reader = new Reader(frame);
  return { header: readRequestHeader(reader, false), reader, frame };
}

describe('requests kafkajs wrote decode exactly', () => {
  it('ApiVersions v2', () => {
    const { header, reader } = fixture('kafkajs-18-v2');
    expect(header).toEqual({ apiKey: 18, apiVersion: 2, correlationId: 0, clientId: 'golden' });
    expect(decodeApiVersionsRequest(reader, 2)).toEqual({ clientSoftwareName: null, clientSoftwareVersion: null });
    expect(reader.remaining).toBe(0);
  });

  it('Metadata v6 (all topics, no auto-create)', () => {
    const { reader } = fixture('kafkajs-3-v6');
    expect(decodeMetadataRequest(reader, 6)).toEqual({ topics: null, allowAutoTopicCreation: false });
    expect(reader.remaining).toBe(0);
  });

  it('CreateTopics v3', () => {
    const { reader } = fixture('kafkajs-19-v3');
    expect(decodeCreateTopicsRequest(reader, 3)).toEqual({
      topics: [{ name: 'golden', numPartitions: 2, replicationFactor: -1, assignments: 0, configs: {} }], timeoutMs: 5000, validateOnly: false,
    });
    expect(reader.remaining).toBe(0);
  });

  it('InitProducerId v1', () => {
    const { reader } = fixture('kafkajs-22-v1');
    expect(decodeInitProducerIdRequest(reader, 1)).toEqual({ transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
    expect(reader.remaining).toBe(0);
  });

  it('Produce v7 with an idempotent keyed record and a header', () => {
    const { reader } = fixture('kafkajs-0-v7');
    const req = decodeProduceRequest(reader, 7);
    expect(reader.remaining).toBe(0);
    expect(req).toMatchObject({ transactionalId: null, acks: -1, timeoutMs: 30000 });
    const { header, records } = decodeRecordBatch(req.topics[0]!.partitions[0]!.records!);
    expect(header.producerId).toBeGreaterThan(0);
    expect(header.baseSequence).toBe(0);
    expect(records.map((r) => [r.key?.toString(), r.value?.toString(), r.timestamp, r.headers.map((h) => `${h.key}=${h.value?.toString()}`)]))
      .toEqual([['k1', 'v1', 1700000000000, ['h=x']]]);
  });

  it('ListOffsets v3 and DeleteTopics v1', () => {
    const lo = fixture('kafkajs-2-v3');
    expect(decodeListOffsetsRequest(lo.reader, 3)).toEqual({
      replicaId: -1, isolationLevel: 1, topics: [{ name: 'golden', partitions: [{ partitionIndex: 0, timestamp: -1 }, { partitionIndex: 1, timestamp: -1 }] }],
    });
    const dt = fixture('kafkajs-20-v1');
    expect(decodeDeleteTopicsRequest(dt.reader, 1)).toEqual({ names: ['golden'], timeoutMs: 5000 });
    expect(lo.reader.remaining + dt.reader.remaining).toBe(0);
  });
});

describe('responses', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterAll(async () => {
    await broker?.close();
  });

  async function roundTrip(frame: Buffer): Promise<Buffer> {
    const c = await RawClient.connect(broker.port);
    c.write(frame);
    const [res] = await c.waitFrames(1);
    c.destroy();
    expect(res, 'a response frame').toBeDefined();
    return res!;
  }

  it('ApiVersions v99 gets a v0 body with UNSUPPORTED_VERSION and the ranges, byte for byte', async () => {
    const empty = await startTestBroker({ listener: { handlers: [] } });
    try {
      const c = await RawClient.connect(empty.port);
      c.write(requestFrame(18, 99, 7, Buffer.alloc(0)));
      const [res] = await c.waitFrames(1);
      // correlation 7 | error 35 | 1 api: key 18, 0–4 (no throttle_time in v0)
      expect(res!.toString('hex')).toBe('00000007' + '0023' + '00000001' + '0012' + '0000' + '0004');
      expect(c.closed).toBe(false);
      c.destroy();
    } finally {
      await empty.close();
    }
  });

  it('ListOffsets v1 latest, byte for byte', async () => {
    await broker.store.createTopic('t');
    const body = Buffer.from('ffffffff' + '00000001' + '0001' + '74' + '00000001' + '00000000' + 'ffffffffffffffff', 'hex');
    const res = await roundTrip(requestFrame(2, 1, 1, body));
    expect(res.toString('hex')).toBe('00000001' + '00000001' + '0001' + '74' + '00000001' + '00000000' + '0000' + 'ffffffffffffffff' + '0000000000000000');
  });

  it('kafkajs decodes our ApiVersions v2 and Metadata v6 responses to the captured requests', async () => {
    const av = require('kafkajs/src/protocol/requests/apiVersions/v2/response.js') as KjsDecoder;
    const apiVersions = (await av.decode((await roundTrip(frameOf('kafkajs-18-v2'))).subarray(4))) as {
      errorCode: number; apiVersions: { apiKey: number; minVersion: number; maxVersion: number }[];
    };
    expect(apiVersions.errorCode).toBe(0);
    expect(apiVersions.apiVersions).toEqual(expect.arrayContaining([
      { apiKey: 0, minVersion: 0, maxVersion: 11 }, { apiKey: 1, minVersion: 4, maxVersion: 12 }, { apiKey: 18, minVersion: 0, maxVersion: 4 },
    ]));
    await broker.store.createTopic('md', { partitions: 2 });
    const md = require('kafkajs/src/protocol/requests/metadata/v6/response.js') as KjsDecoder;
    const meta = (await md.decode((await roundTrip(frameOf('kafkajs-3-v6'))).subarray(4))) as {
      brokers: { nodeId: number; host: string; port: number }[]; clusterId: string; topicMetadata: { topic: string; partitionMetadata: { partitionId: number; leader: number }[] }[];
    };
    expect(meta.brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port: broker.port, rack: null }]);
    expect(meta.topicMetadata.find((t) => t.topic === 'md')!.partitionMetadata.map((p) => [p.partitionId, p.leader])).toEqual([[0, 0], [1, 0]]);
  });

  it('kafkajs decodes our Fetch v11 and v4 responses, with the stored batches', async () => {
    await broker.store.createTopic('f');
    await broker.store.appendRecords('f', 0, [{ key: Buffer.from('a'), value: Buffer.from('1') }, { key: null, value: Buffer.from('2') }]);
    for (const version of [4, 11]) {
      const req = require(`kafkajs/src/protocol/requests/fetch/v${version}/request.js`) as (a: Record<string, unknown>) => KjsRequest;
      const frame = await kjsFrame(req({
        replicaId: -1, maxWaitTime: 100, minBytes: 1, maxBytes: 1 << 20,
        topics: [{ topic: 'f', partitions: [{ partition: 0, fetchOffset: '0', maxBytes: 1 << 20 }, { partition: 7, fetchOffset: '0', maxBytes: 1 << 20 }] }],
      }));
      const res = require(`kafkajs/src/protocol/requests/fetch/v${version}/response.js`) as KjsDecoder;
      const decoded = (await res.decode((await roundTrip(frame)).subarray(4))) as {
        responses: { topicName: string; partitions: { partition: number; errorCode: number; highWatermark: string; lastStableOffset: string; messages: { offset: string; value: Buffer }[] }[] }[];
      };
      const [p0, p7] = decoded.responses[0]!.partitions;
      expect(p0).toMatchObject({ partition: 0, errorCode: 0, highWatermark: '2', lastStableOffset: '2' });
      expect(p0!.messages.map((m) => [m.offset, m.value.toString()])).toEqual([['0', '1'], ['1', '2']]);
      expect(p7).toMatchObject({ partition: 7, errorCode: 3 });
      expect(p7!.messages).toEqual([]);
    }
  });
});

interface KjsDecoder {
  decode(buf: Buffer): Promise<unknown>;
}
interface KjsRequest {
  apiKey: number;
  apiVersion: number;
  encode(): Promise<{ buffer: Buffer }>;
}

async function kjsFrame(request: KjsRequest): Promise<Buffer> {
  const build = require('kafkajs/src/protocol/request.js') as (a: { correlationId: number; clientId: string; request: KjsRequest }) => Promise<{ buffer: Buffer }>;
  return (await build({ correlationId: 42, clientId: 'golden', request })).buffer;
}

/** A captured request frame with its size prefix back on. */
function frameOf(name: string): Buffer {
  const { frame } = fixture(name);
  const size = Buffer.alloc(4);
  size.writeInt32BE(frame.length, 0);
  return Buffer.concat([size, frame]);
}
