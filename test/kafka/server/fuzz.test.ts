/**
 * Fuzz: request decoders fed random and mutated bodies only ever return or throw a WeirError;
 * a live listener fed random streams and mutated frames never crashes or hangs, closes only the
 * offending connections, and keeps serving a well-behaved client throughout.
 * Deterministic (seeded) so a failure reproduces.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWeirError } from '../../../src/errors.js';
import { decodeAddOffsetsToTxnRequest } from '../../../src/kafka/protocol/apis/add-offsets-to-txn.js';
import { decodeAddPartitionsToTxnRequest } from '../../../src/kafka/protocol/apis/add-partitions-to-txn.js';
import { decodeApiVersionsRequest } from '../../../src/kafka/protocol/apis/api-versions.js';
import { decodeCreateTopicsRequest } from '../../../src/kafka/protocol/apis/create-topics.js';
import { decodeDeleteTopicsRequest } from '../../../src/kafka/protocol/apis/delete-topics.js';
import { decodeEndTxnRequest } from '../../../src/kafka/protocol/apis/end-txn.js';
import { decodeFetchRequest } from '../../../src/kafka/protocol/apis/fetch.js';
import { decodeInitProducerIdRequest } from '../../../src/kafka/protocol/apis/init-producer-id.js';
import { decodeListOffsetsRequest } from '../../../src/kafka/protocol/apis/list-offsets.js';
import { decodeMetadataRequest } from '../../../src/kafka/protocol/apis/metadata.js';
import { decodeProduceRequest } from '../../../src/kafka/protocol/apis/produce.js';
import { decodeTxnOffsetCommitRequest } from '../../../src/kafka/protocol/apis/txn-offset-commit.js';
import { Reader } from '../../../src/kafka/protocol/reader.js';
import { RawClient, requestFrame, startTestBroker, type TestBroker } from './helpers.js';
import { fetchBody, metadataBody } from './requests.js';

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function mutate(buf: Buffer, rand: () => number, from = 0): Buffer {
  const out = Buffer.from(buf);
  const edits = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < edits && out.length > from; i++) {
    const pos = from + Math.floor(rand() * (out.length - from));
    const kind = rand();
    if (kind < 0.5) out[pos] = Math.floor(rand() * 256);
    else if (kind < 0.75) out[pos] = 0xff;
    else out[pos] = 0x7f;
  }
  const cut = rand() < 0.2 ? Math.floor(rand() * out.length) : out.length;
  return out.subarray(0, Math.max(cut, from));
}

const fixtures = readdirSync(new URL('../../fixtures/kafka-requests/', import.meta.url))
  .filter((f) => f.endsWith('.hex'))
  .map((f) => Buffer.from(readFileSync(new URL(`../../fixtures/kafka-requests/${f}`, import.meta.url), 'utf8').trim(), 'hex'));

const decoders: Array<[string, (r: Reader, v: number) => unknown, number, number]> = [
  ['ApiVersions', decodeApiVersionsRequest, 0, 4],
  ['Metadata', decodeMetadataRequest, 0, 12],
  ['Produce', decodeProduceRequest, 0, 11],
  ['Fetch', decodeFetchRequest, 4, 12],
  ['ListOffsets', decodeListOffsetsRequest, 1, 7],
  ['CreateTopics', decodeCreateTopicsRequest, 0, 7],
  ['DeleteTopics', decodeDeleteTopicsRequest, 0, 6],
  ['InitProducerId', decodeInitProducerIdRequest, 0, 5],
  ['AddPartitionsToTxn', decodeAddPartitionsToTxnRequest, 0, 3],
  ['AddOffsetsToTxn', decodeAddOffsetsToTxnRequest, 0, 3],
  ['EndTxn', decodeEndTxnRequest, 0, 3],
  ['TxnOffsetCommit', decodeTxnOffsetCommitRequest, 0, 3],
];

describe('request decoders under fuzz', () => {
  it('return or throw WeirError for random and mutated bodies at every version', () => {
    const rand = rng(12345);
    const seeds = [...fixtures.map((f) => f.subarray(16)), fetchBody({ topic: 't', partition: 0, offset: 0, maxWaitMs: 0, minBytes: 1 }), metadataBody(4, ['a', 'b'])];
    let runs = 0;
    for (const [name, decode, min, max] of decoders) {
      for (let v = min; v <= max; v++) {
        for (let i = 0; i < 300; i++) {
          const input = i % 3 === 0
            ? Buffer.from(Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)))
            : mutate(seeds[Math.floor(rand() * seeds.length)]!, rand);
          try {
            decode(new Reader(input), v);
          } catch (err) {
            if (!isWeirError(err)) throw new Error(`${name} v${v} threw a non-WeirError on ${input.toString('hex')}: ${String(err)}`);
          }
          runs++;
        }
      }
    }
    expect(runs).toBeGreaterThan(10_000);
  });
});

describe('listener under fuzz', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker({ listener: { maxFrameBytes: 1 << 20 } });
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('random streams and mutated frames close or are answered; a good client is unaffected', async () => {
    const rand = rng(777);
    const good = await RawClient.connect(broker.port);
    let goodAnswers = 0;
    let closed = 0;
    let answered = 0;
    for (let i = 0; i < 150; i++) {
      const c = await RawClient.connect(broker.port);
      if (i % 3 === 0) {
        // Random bytes, then EOF: the server closes (bad size) or sees EOF mid-frame.
        c.write(Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256))));
        c.socket.end();
        await c.waitClosed();
        closed++;
      } else {
        // A kafkajs frame with its body mutated (api key kept: no mutation turns it into a long poll),
        // framed with a correct size, then an ApiVersions probe behind it.
        const f = fixtures[Math.floor(rand() * fixtures.length)]!;
        const body = mutate(f, rand, 2);
        const size = Buffer.alloc(4);
        size.writeInt32BE(body.length, 0);
        c.write(Buffer.concat([size, body, requestFrame(18, 0, 999_999, Buffer.alloc(0))]));
        await c.waitFor(() => c.frames.some((fr) => fr.readInt32BE(0) === 999_999));
        if (c.closed) closed++;
        else answered++;
        c.destroy();
      }
      if (i % 25 === 0) {
        good.write(requestFrame(18, 0, i, Buffer.alloc(0)));
        await good.waitFrames(++goodAnswers);
      }
    }
    expect(good.closed).toBe(false);
    expect(good.frames.length).toBe(goodAnswers);
    expect(closed + answered).toBe(150);
    expect(closed).toBeGreaterThan(0);
    good.destroy();
  });
});
