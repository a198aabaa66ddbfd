/** The listener over real sockets on port 0: order, acks=0, caps, bad input, version checks. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWeirError } from '../../../src/errors.js';
import { encodeRecordBatch } from '../../../src/kafka/protocol/record-batch.js';
import { advertisedHostFor, startKafkaListener } from '../../../src/kafka/server/listener.js';
import { silentLogger } from '../../helpers/store.js';
import { RawClient, requestFrame, startTestBroker, type TestBroker } from './helpers.js';
import { correlationOf, fetchBody, metadataBody, produceBody, readFetchResponse, readMetadataTopics, readProduceResponse } from './requests.js';

let broker: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker();
  await broker.store.createTopic('t', { partitions: 2 });
});

afterAll(async () => {
  await broker?.close();
});

const batch = (n: number, value = 'v') => encodeRecordBatch({ baseOffset: 0, records: Array.from({ length: n }, () => ({ key: null, value: Buffer.from(value) })) });

describe('Kafka listener', () => {
  it('answers pipelined requests in request order; acks=0 produces answer nothing but keep their place', async () => {
    const c = await RawClient.connect(broker.port);
    c.write(Buffer.concat([
      requestFrame(0, 3, 1, produceBody({ acks: -1, topic: 't', partition: 0, records: batch(3) })),
      requestFrame(18, 0, 2, Buffer.alloc(0)),
      requestFrame(0, 3, 3, produceBody({ acks: 0, topic: 't', partition: 0, records: batch(2) })),
      requestFrame(3, 1, 4, metadataBody(1, ['t'])),
      requestFrame(0, 5, 5, produceBody({ acks: 1, topic: 't', partition: 0, records: batch(1) })),
    ]));
    const frames = await c.waitFrames(4);
    expect(frames.map(correlationOf)).toEqual([1, 2, 4, 5]);
    expect(readProduceResponse(frames[0]!, 3)).toMatchObject({ errorCode: 0, baseOffset: 0 });
    expect(readProduceResponse(frames[3]!, 5)).toEqual({ errorCode: 0, baseOffset: 5, logStartOffset: 0 });
    c.destroy();
  });

  it('Produce v0–2 is answered with UNSUPPORTED_VERSION; acks outside 0/1/-1 with INVALID_REQUIRED_ACKS', async () => {
    const c = await RawClient.connect(broker.port);
    c.write(requestFrame(0, 2, 1, produceBody({ version: 2, acks: 1, topic: 't', partition: 0, records: batch(1) })));
    c.write(requestFrame(0, 3, 2, produceBody({ acks: 2, topic: 't', partition: 0, records: batch(1) })));
    const [v2, bad] = await c.waitFrames(2);
    expect(readProduceResponse(v2!, 2).errorCode).toBe(35);
    expect(readProduceResponse(bad!, 3).errorCode).toBe(21);
    c.destroy();
  });

  it('maps store errors: unknown partition, corrupt batch, control batch, too large', async () => {
    await broker.store.createTopic('small', { configs: { 'max.message.bytes': '200' } });
    const corrupt = batch(1);
    corrupt[corrupt.length - 1] ^= 0xff;
    const control = batch(1);
    control.writeInt16BE(0x20, 21); // isControl (CRC is not checked before this refusal)
    const c = await RawClient.connect(broker.port);
    c.write(requestFrame(0, 3, 1, produceBody({ acks: 1, topic: 't', partition: 9, records: batch(1) })));
    c.write(requestFrame(0, 3, 2, produceBody({ acks: 1, topic: 't', partition: 0, records: corrupt })));
    c.write(requestFrame(0, 3, 3, produceBody({ acks: 1, topic: 't', partition: 0, records: control })));
    c.write(requestFrame(0, 3, 4, produceBody({ acks: 1, topic: 'small', partition: 0, records: batch(1, 'x'.repeat(400)) })));
    const frames = await c.waitFrames(4);
    // Produce v3 predates INVALID_RECORD (87, Produce v8, KIP-467): the control batch's refusal
    // reaches a v3 client as CORRUPT_MESSAGE (2), as Kafka answered such clients.
    expect(frames.map((f) => readProduceResponse(f, 3).errorCode)).toEqual([3, 2, 2, 10]);
    c.destroy();
  });

  it('Metadata: v0 empty list and v1 null mean all topics, v1 empty means none; auto-create makes missing ones', async () => {
    const c = await RawClient.connect(broker.port);
    c.write(requestFrame(3, 1, 1, metadataBody(1, null)));
    c.write(requestFrame(3, 1, 2, metadataBody(1, [])));
    c.write(requestFrame(3, 0, 3, metadataBody(0, [])));
    c.write(requestFrame(3, 4, 4, metadataBody(4, ['auto-made'])));
    const [all, none, v0, auto] = await c.waitFrames(4);
    expect(readMetadataTopics(all!).map((t) => t.name)).toContain('t');
    expect(readMetadataTopics(none!)).toEqual([]);
    expect(v0!.length).toBeGreaterThan(8);
    expect(broker.store.hasTopic('auto-made')).toBe(true);
    expect(auto!.length).toBeGreaterThan(8);
    c.destroy();
  });

  it('Metadata without auto-create answers UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const b = await startTestBroker({ autoCreateTopics: false });
    try {
      const c = await RawClient.connect(b.port);
      c.write(requestFrame(3, 1, 1, metadataBody(1, ['missing'])));
      const [f] = await c.waitFrames(1);
      expect(readMetadataTopics(f!)).toEqual([{ name: 'missing', errorCode: 3, partitions: 0 }]);
      expect(b.store.hasTopic('missing')).toBe(false);
      c.destroy();
    } finally {
      await b.close();
    }
  });

  it('Fetch long-polls until an append, returns zero-length records on timeout, and OFFSET_OUT_OF_RANGE past the end', async () => {
    await broker.store.createTopic('poll');
    const c = await RawClient.connect(broker.port);
    c.write(requestFrame(1, 4, 1, fetchBody({ topic: 'poll', partition: 0, offset: 0, maxWaitMs: 20, minBytes: 1 })));
    const [empty] = await c.waitFrames(1);
    expect(readFetchResponse(empty!)).toEqual({ errorCode: 0, highWatermark: 0, records: Buffer.alloc(0) });

    c.write(requestFrame(1, 4, 2, fetchBody({ topic: 'poll', partition: 0, offset: 0, maxWaitMs: 20_000, minBytes: 1 })));
    const started = Date.now();
    await broker.store.appendRecords('poll', 0, [{ key: null, value: Buffer.from('late') }]);
    const [, woken] = await c.waitFrames(2);
    expect(Date.now() - started).toBeLessThan(10_000);
    const res = readFetchResponse(woken!);
    expect(res.highWatermark).toBe(1);
    expect(res.records!.length).toBeGreaterThan(61);

    c.write(requestFrame(1, 4, 3, fetchBody({ topic: 'poll', partition: 0, offset: 5, maxWaitMs: 0, minBytes: 1 })));
    const [, , oor] = await c.waitFrames(3);
    expect(readFetchResponse(oor!)).toMatchObject({ errorCode: 1, highWatermark: 1 });
    c.destroy();
  });

  it('KIP-74: a batch larger than max_bytes is still returned whole', async () => {
    await broker.store.createTopic('big');
    await broker.store.appendBatches('big', 0, batch(1, 'y'.repeat(5000)));
    const c = await RawClient.connect(broker.port);
    c.write(requestFrame(1, 4, 1, fetchBody({ topic: 'big', partition: 0, offset: 0, maxWaitMs: 0, minBytes: 1, maxBytes: 100 })));
    const [f] = await c.waitFrames(1);
    expect(readFetchResponse(f!).records!.length).toBeGreaterThan(5000);
    c.destroy();
  });

  it('garbage, unknown API keys and unserved versions close only that connection', async () => {
    const good = await RawClient.connect(broker.port);
    const cases = [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]),
      requestFrame(999, 0, 1, Buffer.alloc(0)),
      requestFrame(1, 3, 1, fetchBody({ topic: 't', partition: 0, offset: 0, maxWaitMs: 0, minBytes: 1 })),
      requestFrame(3, 1, 1, Buffer.from([0x7f, 0xff, 0xff, 0xff])),
    ];
    for (const bytes of cases) {
      const bad = await RawClient.connect(broker.port);
      bad.write(bytes);
      await bad.waitClosed();
    }
    good.write(requestFrame(18, 3, 9, Buffer.from([2, 0x61, 2, 0x62, 0]), { flexible: true }));
    const [f] = await good.waitFrames(1);
    expect(correlationOf(f!)).toBe(9);
    expect(f!.readInt16BE(4)).toBe(0);
    good.destroy();
  });

  it('caps connections and in-flight requests', async () => {
    const b = await startTestBroker({ listener: { maxConnections: 2, maxInFlightPerConnection: 1 } });
    try {
      const c1 = await RawClient.connect(b.port);
      const c2 = await RawClient.connect(b.port);
      // At the cap, the longest-idle connection makes room (limits.test.ts has the details).
      const c3 = await RawClient.connect(b.port);
      await c1.waitClosed();
      // 50 pipelined requests through an in-flight cap of 1: all answered, in order.
      c3.write(Buffer.concat(Array.from({ length: 50 }, (_, i) => requestFrame(18, 0, i, Buffer.alloc(0)))));
      const frames = await c3.waitFrames(50);
      expect(frames.map(correlationOf)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(c2.closed).toBe(false);
      expect(b.listener.connectionCount()).toBe(2);
      c2.destroy();
      c3.destroy();
    } finally {
      await b.close();
    }
  });

  it('refuses a non-loopback bind without the explicit opt-in, and never advertises a wildcard', async () => {
    const err = await startKafkaListener({
      host: '0.0.0.0', port: 0, advertisedHost: 'auto', advertisedPort: 'auto', allowUnauthenticatedNonLoopback: false,
      maxFrameBytes: 1 << 20, maxConnections: 1, maxInFlightPerConnection: 1, maxQueuedRequestBytes: 1 << 20, handlers: [], logger: silentLogger,
    }).catch((e: unknown) => e);
    expect(isWeirError(err, 'CONFIG_INVALID')).toBe(true);
    expect(advertisedHostFor('0.0.0.0', 'auto')).toBe('127.0.0.1');
    expect(advertisedHostFor('::', 'auto')).toBe('127.0.0.1');
    expect(advertisedHostFor('127.0.0.1', 'gw.local')).toBe('gw.local');
    expect(() => advertisedHostFor('127.0.0.1', '0.0.0.0')).toThrow();
  });

  it('close() answers a pending long poll and closes connections', async () => {
    const b = await startTestBroker();
    await b.store.createTopic('idle');
    // Resolves when the Fetch handler starts waiting: the long poll is certainly in progress.
    const waiting = new Promise<void>((resolve) => {
      const original = b.store.waitForData.bind(b.store);
      b.store.waitForData = (...args) => {
        resolve();
        return original(...args);
      };
    });
    const c = await RawClient.connect(b.port);
    c.write(requestFrame(1, 4, 1, fetchBody({ topic: 'idle', partition: 0, offset: 0, maxWaitMs: 25_000, minBytes: 1 })));
    await waiting;
    const started = Date.now();
    await b.close();
    expect(Date.now() - started).toBeLessThan(10_000);
    const [f] = await c.waitFrames(1);
    expect(readFetchResponse(f!)).toEqual({ errorCode: 0, highWatermark: 0, records: Buffer.alloc(0) });
    await c.waitClosed();
  });
  it('logs a closed bad connection as one structured warn line', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const b = await startTestBroker({ listener: { logger: pino({ level: 'info' }, sink) } });
    try {
      const c = await RawClient.connect(b.port);
      c.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
      await c.waitClosed();
      const warn = lines.find((l) => l.level === 40);
      expect(warn).toMatchObject({ component: 'kafka', connection: 1, msg: 'kafka connection closed: bad frame', err: { code: 'CORRUPT_MESSAGE' } });
    } finally {
      await b.close();
    }
  });
});

describe('request byte budget (kafka.max_queued_request_bytes)', () => {
  it('a spent budget stops pipelining but never starves: every request is still answered', async () => {
    // 1 MiB budget, ~300 KiB produce requests pipelined 20 deep on each of 3 connections.
    const b = await startTestBroker({ listener: { maxQueuedRequestBytes: 1 << 20, maxInFlightPerConnection: 20 } });
    try {
      await b.store.createTopic('budget');
      const body = produceBody({ acks: 1, topic: 'budget', partition: 0, records: batch(1, 'z'.repeat(300_000)) });
      const clients = await Promise.all([0, 1, 2].map(() => RawClient.connect(b.port)));
      for (const c of clients) c.write(Buffer.concat(Array.from({ length: 20 }, (_, i) => requestFrame(0, 3, i, body))));
      const answers = await Promise.all(clients.map((c) => c.waitFrames(20)));
      for (const frames of answers) {
        expect(frames.map(correlationOf)).toEqual(Array.from({ length: 20 }, (_, i) => i));
        expect(frames.every((f) => readProduceResponse(f, 3).errorCode === 0)).toBe(true);
      }
      expect(b.store.offsets('budget', 0).highWatermark).toBe(60);
      // Without the budget 60 × 300 KB would be held at once; with it, at most the budget plus
      // one request per connection.
      const { now, peak } = b.listener.queuedRequestBytes();
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual((1 << 20) + 3 * body.length + 3 * 100);
      expect(now).toBe(0);
      for (const c of clients) c.destroy();
    } finally {
      await b.close();
    }
  });
});
