/**
 * What a hostile or careless client can make the listener hold, over raw sockets on port 0:
 * partial requests against the byte budget, slow requests, fetch response sizes, responses
 * nobody reads, idle connections and the connection cap (record bodies: produce-validation.test.ts).
 */
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { encodeRecordBatch } from '../../../src/kafka/protocol/record-batch.js';
import { DEFAULT_CONNECTIONS_MAX_IDLE_MS, DEFAULT_FETCH_MAX_BYTES, DEFAULT_MAX_QUEUED_RESPONSE_BYTES, DEFAULT_REQUEST_READ_TIMEOUT_MS } from '../../../src/kafka/server/listener.js';
import { kafkaSecurityFromConfig } from '../../../src/kafka/server/security.js';
import { RawClient, requestFrame, startTestBroker, type TestBroker } from './helpers.js';
import { correlationOf, fetchBody, produceBody, readFetchResponse, readProduceResponse } from './requests.js';
import { until } from '../../helpers/until.js';

let broker: TestBroker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The first `n` bytes of a frame whose size prefix says `size`. */
function partialFrame(size: number, n: number): Buffer {
  const b = Buffer.alloc(4 + n, 0x41);
  b.writeInt32BE(size, 0);
  return b;
}

const fetches = (b: TestBroker) => b.listener.stats.requests.get('Fetch\0NONE') ?? 0;

describe('partial requests count against kafka.max_queued_request_bytes', () => {
  it('from the moment the size is read; a request that cannot be reserved is not read until bytes are given back', async () => {
    broker = await startTestBroker({ listener: { maxQueuedRequestBytes: 1 << 20 } });
    const b = broker;
    await b.store.createTopic('p', { configs: { 'max.message.bytes': String(1 << 20) } });
    const holder = await RawClient.connect(b.port);
    holder.write(partialFrame(1_048_500, 100_000));
    await until('1 048 500 queued request bytes', () => b.listener.queuedRequestBytes().now === 1_048_500, 5_000, 10);

    // A real 700 KB produce: it does not fit next to the 1 MB partial, so it waits unread.
    const produce = requestFrame(0, 3, 7, produceBody({ acks: 1, topic: 'p', partition: 0, records: encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: Buffer.alloc(700_000, 1) }] }) }));
    const waiter = await RawClient.connect(b.port);
    waiter.write(produce);
    await sleep(300);
    expect(b.listener.queuedRequestBytes()).toEqual({ now: 1_048_500, peak: 1_048_500 });
    expect(waiter.frames).toHaveLength(0);

    // Small requests of a connection holding nothing still pass (byte-budget.ts SMALL_REQUEST_BYTES).
    const small = await RawClient.connect(b.port);
    small.write(requestFrame(0, 3, 8, produceBody({ acks: 1, topic: 'p', partition: 0, records: encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: Buffer.from('canary') }] }) })));
    const [s8] = await small.waitFrames(1);
    expect(readProduceResponse(s8!, 3).errorCode).toBe(0);
    expect(waiter.frames).toHaveLength(0);
    small.destroy();

    // The holder goes: its reservation is given back, and the waiting request is read and answered.
    holder.destroy();
    const [f] = await waiter.waitFrames(1);
    expect(correlationOf(f!)).toBe(7);
    expect(readProduceResponse(f!, 3).errorCode).toBe(0);
    await until('no queued request bytes', () => b.listener.queuedRequestBytes().now === 0, 5_000, 10);
    expect(b.listener.queuedRequestBytes().peak).toBeLessThanOrEqual((1 << 20) + 64 * 1024);
    waiter.destroy();
  });

  it('a request still arriving kafka.request_read_timeout_ms after its first byte closes its connection, however steadily it trickles', async () => {
    broker = await startTestBroker({ listener: { requestReadTimeoutMs: 300 } });
    const b = broker;
    const c = await RawClient.connect(b.port);
    c.socket.setNoDelay(true);
    c.write(partialFrame(1 << 20, 0));
    const started = Date.now();
    const trickle = setInterval(() => c.write(Buffer.from([0x41])), 20);
    try {
      await c.waitClosed();
    } finally {
      clearInterval(trickle);
    }
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(b.listener.stats.closed.slow_request).toBe(1);
    await until('no queued request bytes', () => b.listener.queuedRequestBytes().now === 0, 5_000, 10);
  });
});

describe('fetch responses (kafka.fetch_max_bytes)', () => {
  it('max_bytes and partition_max_bytes of 2 GB are clamped; the first batch still comes whole (KIP-74)', async () => {
    broker = await startTestBroker({ listener: { fetchMaxBytes: 64 * 1024 } });
    const b = broker;
    await b.store.createTopic('f');
    for (let i = 0; i < 10; i++) await b.store.appendBatches('f', 0, encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: Buffer.alloc(20_000, i) }] }));
    const c = await RawClient.connect(b.port);
    c.write(requestFrame(1, 4, 1, fetchBody({ topic: 'f', partition: 0, offset: 0, maxWaitMs: 0, minBytes: 0, maxBytes: 0x7fffffff, partitionMaxBytes: 0x7fffffff })));
    const [f] = await c.waitFrames(1);
    const records = readFetchResponse(f!).records!;
    expect(records.length).toBeGreaterThan(0);
    expect(records.length).toBeLessThanOrEqual(64 * 1024);
    // A batch larger than the cap still comes, alone.
    await b.store.createTopic('big', { configs: { 'max.message.bytes': String(1 << 20) } });
    await b.store.appendBatches('big', 0, encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: Buffer.alloc(200_000, 9) }] }));
    c.write(requestFrame(1, 4, 2, fetchBody({ topic: 'big', partition: 0, offset: 0, maxWaitMs: 0, minBytes: 0, maxBytes: 0x7fffffff, partitionMaxBytes: 0x7fffffff })));
    const [, g] = await c.waitFrames(2);
    expect(readFetchResponse(g!).records!.length).toBeGreaterThan(200_000);
    c.destroy();
  });

  it('a client that does not read its responses is not served more until it does; then everything comes, in order', async () => {
    broker = await startTestBroker({ listener: { fetchMaxBytes: 1 << 20, maxInFlightPerConnection: 32 } });
    const b = broker;
    await b.store.createTopic('slow', { configs: { 'max.message.bytes': String(2 << 20) } });
    await b.store.appendBatches('slow', 0, encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: Buffer.alloc(1 << 20, 7) }] }));
    const c = await RawClient.connect(b.port);
    c.socket.pause();
    c.write(Buffer.concat(Array.from({ length: 32 }, (_, i) => requestFrame(1, 4, i, fetchBody({ topic: 'slow', partition: 0, offset: 0, maxWaitMs: 0, minBytes: 0, maxBytes: 2 << 20, partitionMaxBytes: 2 << 20 })))));
    await sleep(1_000);
    // The kernel's socket buffers take a few responses; the rest are not built while nobody reads.
    const served = fetches(b);
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThan(16);
    c.socket.resume();
    const frames = await c.waitFrames(32);
    expect(frames.map(correlationOf)).toEqual(Array.from({ length: 32 }, (_, i) => i));
    c.destroy();
  });
});

describe('fetch responses held, all connections (kafka.max_queued_response_bytes)', () => {
  it('a Fetch reads at most what is left of the cap (one whole batch at least); held bytes are given back once the sockets take them', async () => {
    broker = await startTestBroker({ listener: { maxQueuedResponseBytes: 1 << 20 } });
    const b = broker;
    await b.store.createTopic('shared');
    for (let i = 0; i < 20; i++) await b.store.appendBatches('shared', 0, encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: Buffer.alloc(200_000, i) }] }));
    const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.connect(b.port)));
    clients.forEach((c, i) => {
      c.socket.pause();
      c.write(requestFrame(1, 4, i, fetchBody({ topic: 'shared', partition: 0, offset: 0, maxWaitMs: 0, minBytes: 0, maxBytes: 0x7fffffff, partitionMaxBytes: 0x7fffffff })));
    });
    await sleep(1_000);
    for (const c of clients) c.socket.resume();
    const answers = await Promise.all(clients.map((c) => c.waitFrames(1)));
    for (const [f] of answers) {
      const records = readFetchResponse(f!).records!;
      // 4 MB are there and kafka.fetch_max_bytes is 8 MiB: the 1 MiB cap (plus one batch) is what limits.
      expect(records.length).toBeGreaterThan(0);
      expect(records.length).toBeLessThanOrEqual((1 << 20) + 200_100);
    }
    expect(b.listener.queuedResponseBytes().peak).toBeLessThanOrEqual((1 << 20) + 200_100);
    await until('no queued response bytes', () => b.listener.queuedResponseBytes().now === 0, 5_000, 10);
    for (const c of clients) c.destroy();
  });
});

describe('idle connections (kafka.connections_max_idle_ms) and the connection cap', () => {
  it('an idle connection is closed; one long-polling is not', async () => {
    broker = await startTestBroker({ listener: { connectionsMaxIdleMs: 300 } });
    const b = broker;
    await b.store.createTopic('quiet');
    const idle = await RawClient.connect(b.port);
    idle.write(requestFrame(18, 0, 1, Buffer.alloc(0)));
    await idle.waitFrames(1);
    const polling = await RawClient.connect(b.port);
    polling.write(requestFrame(1, 4, 2, fetchBody({ topic: 'quiet', partition: 0, offset: 0, maxWaitMs: 1_500, minBytes: 1 })));
    const started = Date.now();
    await idle.waitClosed();
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(polling.closed).toBe(false);
    await polling.waitFrames(1);
    expect(b.listener.stats.closed.idle).toBe(1);
    polling.destroy();
  });

  it('at kafka.max_connections the longest-idle connection makes room; when all are busy the new one is refused', async () => {
    broker = await startTestBroker({ listener: { maxConnections: 3 } });
    const b = broker;
    await b.store.createTopic('busy');
    const idle = [];
    for (let i = 0; i < 3; i++) {
      idle.push(await RawClient.connect(b.port));
      await sleep(20);
    }
    const newcomer = await RawClient.connect(b.port);
    await idle[0]!.waitClosed();
    newcomer.write(requestFrame(18, 0, 1, Buffer.alloc(0)));
    await newcomer.waitFrames(1);
    expect(idle[1]!.closed || idle[2]!.closed).toBe(false);
    expect(b.listener.stats.closed.evicted_idle).toBe(1);

    // Every connection long-polling: nothing is idle, so the next one is refused.
    const polls = [idle[1]!, idle[2]!, newcomer];
    polls.forEach((c, i) => c.write(requestFrame(1, 4, 10 + i, fetchBody({ topic: 'busy', partition: 0, offset: 0, maxWaitMs: 3_000, minBytes: 1 }))));
    await sleep(200);
    const refused = await RawClient.connect(b.port);
    await refused.waitClosed();
    expect(b.listener.stats.closed.max_connections).toBe(1);
    expect(polls.every((c) => !c.closed)).toBe(true);
    for (const c of polls) c.destroy();
  });
});

describe('config', () => {
  it('kafka.fetch_max_bytes, max_queued_response_bytes, connections_max_idle_ms and request_read_timeout_ms reach the listener; their defaults are the listener\'s', () => {
    const set = loadConfig({ env: { WEIR_KAFKA__FETCH_MAX_BYTES: '1MiB', WEIR_KAFKA__CONNECTIONS_MAX_IDLE_MS: '5s', WEIR_KAFKA__REQUEST_READ_TIMEOUT_MS: '2s' }, cwd: tmpdir() });
    expect(kafkaSecurityFromConfig(set)).toEqual({ fetchMaxBytes: 1 << 20, maxQueuedResponseBytes: 32 << 20, connectionsMaxIdleMs: 5_000, requestReadTimeoutMs: 2_000 });
    const defaults = loadConfig({ env: {}, cwd: tmpdir() });
    expect(kafkaSecurityFromConfig(defaults)).toEqual({
      fetchMaxBytes: DEFAULT_FETCH_MAX_BYTES, maxQueuedResponseBytes: DEFAULT_MAX_QUEUED_RESPONSE_BYTES,
      connectionsMaxIdleMs: DEFAULT_CONNECTIONS_MAX_IDLE_MS, requestReadTimeoutMs: DEFAULT_REQUEST_READ_TIMEOUT_MS,
    });
  });
});
