/**
 * BrokerConnection against a real Weir listener over loopback, plain TCP: ApiVersions,
 * hand-written Metadata and Produce/Fetch round trips (a multi-MB batch each way), pipelining,
 * and the ways a connection ends: request timeout, close(), a cut mid-response, a size prefix no
 * response can have. Faults come from the fault proxy between the two, or a fake broker.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BrokerConnection, ConnectError, ConnectionLost, type ConnectionOptions } from '../../../../bridge/mirror/wire/connection.js';
import { ApiKey } from '../../../../src/kafka/protocol/api-keys.js';
import { readRequestHeader, type RequestHeader } from '../../../../src/kafka/protocol/header.js';
import { encodeApiVersionsResponse, type ApiVersionRange } from '../../../../src/kafka/protocol/apis/api-versions.js';
import { decodeRecordBatch, encodeRecordBatch } from '../../../../src/kafka/protocol/record-batch.js';
import { Reader } from '../../../../src/kafka/protocol/reader.js';
import { Writer } from '../../../../src/kafka/protocol/writer.js';
import { startFaultProxy, type FaultProxy } from '../../../helpers/fault-proxy.js';
import { METADATA, readMetadataV4, startBroker, writeMetadataV4, type TestBroker } from './helpers.js';

let broker: TestBroker;
let proxy: FaultProxy;
const open: BrokerConnection[] = [];

beforeAll(async () => {
  broker = await startBroker({ WEIR_TOPIC_DEFAULTS__MAX_MESSAGE_BYTES: '8388608' });
  proxy = await startFaultProxy({ target: broker.port });
});

afterEach(() => {
  for (const c of open.splice(0)) c.close();
  Object.assign(proxy, { blackhole: false, delayMs: 0, cutAfterResponseBytes: -1 });
});

afterAll(async () => {
  await proxy?.close();
  await broker?.stop();
});

function options(port: number, extra: Partial<ConnectionOptions> = {}): ConnectionOptions {
  return { host: '127.0.0.1', port, clientId: 'wire-test', connectTimeoutMs: 5000, requestTimeoutMs: 5000, ...extra };
}

async function connect(port: number, extra: Partial<ConnectionOptions> = {}): Promise<BrokerConnection> {
  const c = await BrokerConnection.open(options(port, extra));
  open.push(c);
  return c;
}

function closedWith(c: BrokerConnection): Promise<Error | undefined> {
  return new Promise((resolve) => c.onClose(resolve));
}

describe('on a healthy connection', () => {
  it('negotiates versions with ApiVersions', async () => {
    const c = await connect(broker.port);
    expect(c.version(ApiKey.Produce, 3, 8)).toBeTypeOf('number');
    expect(c.version(ApiKey.Produce, 3, 8)).toBeGreaterThanOrEqual(3);
    expect(c.version(ApiKey.Metadata, 4, 4)).toBe(4);
    expect(c.version(ApiKey.Produce, 100, 200)).toBeUndefined();
    expect(c.version(9999, 0, 10)).toBeUndefined();
    expect(c.inFlight).toBe(0);
    expect(c.closed).toBe(false);
  });

  it('round-trips a Metadata v4 request written by hand', async () => {
    const c = await connect(broker.port);
    const md = await c.request(METADATA, 4, writeMetadataV4(['wire.metadata'], true), readMetadataV4);
    expect(md.brokers).toEqual([{ nodeId: expect.any(Number), host: '127.0.0.1', port: broker.port }]);
    expect(md.topics).toHaveLength(1);
    expect(md.topics[0]!.name).toBe('wire.metadata');
    expect(md.topics[0]!.errorCode).toBe(0);
    expect(md.topics[0]!.partitions.map((p) => p.partition).sort()).toEqual([0, 1]);
  });

  it('pipelines many requests and matches each response to its request, in order', async () => {
    const c = await connect(broker.port);
    const n = 300;
    const answered: number[] = [];
    const all = Array.from({ length: n }, (_, i) =>
      c.request(METADATA, 4, writeMetadataV4([`wire.pipelined.${i}`], false), readMetadataV4).then((md) => {
        answered.push(i);
        return md.topics[0]!.name;
      }),
    );
    expect(c.inFlight).toBe(n);
    const names = await Promise.all(all);
    expect(names).toEqual(Array.from({ length: n }, (_, i) => `wire.pipelined.${i}`));
    expect(answered).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(c.inFlight).toBe(0);
  });

  it('sends a Produce request of megabytes and reads it back in a Fetch response of megabytes', async () => {
    const c = await connect(broker.port);
    const topic = 'wire.large';
    await c.request(METADATA, 4, writeMetadataV4([topic], true), readMetadataV4);
    const value = Buffer.alloc(3 * 2 ** 20);
    for (let i = 0; i < value.length; i++) value[i] = i % 251;
    const batch = encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value }] });
    const produced = await c.request(ApiKey.Produce, 3, (w) => writeProduceV3(w, topic, 0, batch), readProduceV3);
    expect(produced).toEqual({ errorCode: 0, baseOffset: 0 });
    const records = await c.request(ApiKey.Fetch, 4, (w) => writeFetchV4(w, topic, 0, 8 * 2 ** 20), readFetchV4Records);
    expect(records.length).toBeGreaterThan(value.length);
    expect(decodeRecordBatch(records).records[0]!.value!.equals(value)).toBe(true);
  });

  it('rejects with write\'s error and sends nothing when a body cannot be written', async () => {
    const c = await connect(broker.port);
    const tooLong = 'x'.repeat(40_000);
    await expect(c.request(METADATA, 4, writeMetadataV4([tooLong], false), readMetadataV4)).rejects.toThrow(/does not fit an int16 length/);
    expect(c.inFlight).toBe(0);
    expect((await c.request(METADATA, 4, writeMetadataV4(['wire.after'], true), readMetadataV4)).topics[0]!.name).toBe('wire.after');
  });

  it('rejects with read\'s error when a response does not decode, and stays open', async () => {
    const c = await connect(broker.port);
    const readPastTheEnd = (r: Reader): never => {
      for (;;) r.int8();
    };
    await expect(c.request(METADATA, 4, writeMetadataV4(['wire.decode'], true), readPastTheEnd)).rejects.toThrow(/int8 needs 1 bytes, 0 left/);
    expect(c.closed).toBe(false);
    expect((await c.request(METADATA, 4, writeMetadataV4(['wire.decode'], true), readMetadataV4)).topics[0]!.name).toBe('wire.decode');
  });
});

describe('when the connection ends', () => {
  it('closes with ConnectionLost when a request goes unanswered past requestTimeoutMs', async () => {
    const c = await connect(proxy.port, { requestTimeoutMs: 300 });
    const closing = closedWith(c);
    proxy.blackhole = true;
    const started = Date.now();
    const first = c.request(METADATA, 4, writeMetadataV4(['wire.timeout'], false), readMetadataV4);
    const second = c.request(METADATA, 4, writeMetadataV4(['wire.timeout'], false), readMetadataV4);
    await expect(first).rejects.toBeInstanceOf(ConnectionLost);
    await expect(second).rejects.toThrow(/request timed out: no response to Metadata v4 .* within 300 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(c.closed).toBe(true);
    expect(c.inFlight).toBe(0);
    expect((await closing)?.message).toMatch(/request timed out/);
    await expect(c.request(METADATA, 4, writeMetadataV4([], false), readMetadataV4)).rejects.toBeInstanceOf(ConnectionLost);
  });

  it('keeps a connection whose responses each come within the timeout, however long it is busy', async () => {
    const c = await connect(proxy.port, { requestTimeoutMs: 400 });
    proxy.delayMs = 50;
    for (let i = 0; i < 12; i++) await c.request(METADATA, 4, writeMetadataV4(['wire.busy'], true), readMetadataV4);
    expect(c.closed).toBe(false);
  });

  it('close() rejects every pending request with ConnectionLost and tells onClose without an error', async () => {
    const c = await connect(proxy.port);
    proxy.delayMs = 500;
    const pending = [1, 2, 3].map(() => c.request(METADATA, 4, writeMetadataV4(['wire.close'], true), readMetadataV4));
    const closing = closedWith(c);
    expect(c.inFlight).toBe(3);
    c.close();
    for (const p of pending) await expect(p).rejects.toBeInstanceOf(ConnectionLost);
    expect(await closing).toBeUndefined();
    expect(c.closed).toBe(true);
    const late = await new Promise((resolve) => c.onClose(resolve));
    expect(late).toBeUndefined();
  });

  it('rejects with ConnectionLost when the broker cuts the connection in the middle of a response', async () => {
    const c = await connect(proxy.port);
    const closing = closedWith(c);
    proxy.cutAfterResponseBytes = 12;
    await expect(c.request(METADATA, 4, writeMetadataV4(['wire.cut'], true), readMetadataV4)).rejects.toBeInstanceOf(ConnectionLost);
    expect(c.closed).toBe(true);
    expect(await closing).toBeInstanceOf(Error);
  });

  it('closes with an error on a size prefix larger than any response', async () => {
    const fake = await fakeBroker((socket) => {
      const size = Buffer.alloc(4);
      size.writeInt32BE(0x7fffffff);
      socket.write(size);
    });
    try {
      const c = await connect(fake.port);
      const closing = closedWith(c);
      const lost = c.request(METADATA, 4, writeMetadataV4([], false), readMetadataV4);
      await expect(lost).rejects.toThrow(/response frame size 2147483647 is outside \[4, 67108864\]/);
      expect((await closing)?.message).toMatch(/outside/);
    } finally {
      await fake.close();
    }
  });
});

describe('when the connect fails', () => {
  it('names the refused address', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server.close(r));
    const err = await BrokerConnection.open(options(port)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).reason).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
    expect((err as ConnectError).failure).toBe('network');
  });

  it('times out while negotiating versions with a broker that never answers', async () => {
    proxy.blackhole = true;
    const err = await BrokerConnection.open(options(proxy.port, { connectTimeoutMs: 300 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).reason).toBe('timed out after 300 ms while negotiating API versions');
    expect((err as ConnectError).failure).toBe('timeout');
  });

  it('opens every connection with ApiVersions v0, its header v1 carrying the client id', async () => {
    const fake = await fakeBroker(() => undefined);
    try {
      (await connect(fake.port)).close();
      expect(fake.firstHeaders).toEqual([{ apiKey: ApiKey.ApiVersions, apiVersion: 0, correlationId: 0, clientId: 'wire-test' }]);
    } finally {
      await fake.close();
    }
  });

  it('times out while authenticating with a broker that never finishes the SASL handshake', async () => {
    const fake = await fakeBroker(() => undefined, FAKE_SASL_APIS);
    try {
      const err = await BrokerConnection.open(options(fake.port, { connectTimeoutMs: 300, sasl: { mechanism: 'PLAIN', username: 'u', password: 'p' } })).catch((e: unknown) => e);
      expect((err as ConnectError).reason).toBe('timed out after 300 ms while authenticating');
      expect((err as ConnectError).message).toBe(`cannot connect to 127.0.0.1:${fake.port}: timed out after 300 ms while authenticating`);
    } finally {
      await fake.close();
    }
  });

  it('says so when SASL is configured and the listener has none', async () => {
    const err = await BrokerConnection.open(options(broker.port, { sasl: { mechanism: 'PLAIN', username: 'u', password: 'p' } })).catch((e: unknown) => e);
    expect((err as ConnectError).reason).toMatch(/^SASL: the broker does not offer SaslHandshake v1/);
  });
});

const FAKE_APIS: ApiVersionRange[] = [{ apiKey: ApiKey.Produce, minVersion: 3, maxVersion: 8 }, { apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 4 }];
const FAKE_SASL_APIS = [...FAKE_APIS, { apiKey: ApiKey.SaslHandshake, minVersion: 0, maxVersion: 1 }, { apiKey: ApiKey.SaslAuthenticate, minVersion: 0, maxVersion: 2 }];

interface FakeBroker {
  port: number;
  /** The header of each connection's first request. */
  firstHeaders: RequestHeader[];
  close(): Promise<void>;
}

/** A listener that answers ApiVersions v0 with `apis` and hands every later request's socket to `misbehave`. */
async function fakeBroker(misbehave: (socket: Socket) => void, apis = FAKE_APIS): Promise<FakeBroker> {
  const sockets = new Set<Socket>();
  const firstHeaders: RequestHeader[] = [];
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let requests = 0;
    socket.on('data', (chunk: Buffer) => {
      // Each request arrives in one chunk on loopback.
      if (requests++ > 0) return misbehave(socket);
      const header = readRequestHeader(new Reader(chunk, 4), false);
      firstHeaders.push(header);
      const w = new Writer().int32(0).int32(header.correlationId);
      encodeApiVersionsResponse(w, 0, { errorCode: 0, apiKeys: apis, throttleTimeMs: 0 });
      const frame = w.toBuffer();
      frame.writeInt32BE(frame.length - 4, 0);
      socket.write(frame);
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    firstHeaders,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** Produce Request v3 => transactional_id NULLABLE_STRING acks INT16 timeout_ms INT32 [topic [partition records]] */
function writeProduceV3(w: Writer, topic: string, partition: number, batch: Buffer): void {
  w.nullableString(null).int16(-1).int32(10_000);
  w.array([topic], false, (w, t) => {
    w.string(t).array([partition], false, (w, p) => w.int32(p).bytes(batch));
  });
}

/** Produce Response v3 => [topic [partition error_code base_offset log_append_time_ms]] throttle_time_ms (one partition) */
function readProduceV3(r: Reader): { errorCode: number; baseOffset: number } {
  const [[result]] = r.array(false, (r) => {
    r.string();
    return r.array(false, (r) => {
      r.int32();
      const errorCode = r.int16();
      const baseOffset = r.int64();
      r.int64();
      return { errorCode, baseOffset };
    });
  }) as [[{ errorCode: number; baseOffset: number }]];
  r.int32();
  return result;
}

/** Fetch Request v4 => replica_id max_wait_ms min_bytes max_bytes isolation_level [topic [partition fetch_offset partition_max_bytes]] */
function writeFetchV4(w: Writer, topic: string, partition: number, maxBytes: number): void {
  w.int32(-1).int32(100).int32(1).int32(maxBytes).int8(0);
  w.array([topic], false, (w, t) => {
    w.string(t).array([partition], false, (w, p) => w.int32(p).int64(0).int32(maxBytes));
  });
}

/** Fetch Response v4 => throttle_time_ms [topic [partition error_code high_watermark last_stable_offset [aborted] records]]: the one partition's records, copied */
function readFetchV4Records(r: Reader): Buffer {
  r.int32();
  const [[records]] = r.array(false, (r) => {
    r.string();
    return r.array(false, (r) => {
      r.int32();
      const errorCode = r.int16();
      if (errorCode !== 0) throw new Error(`fetch error ${errorCode}`);
      r.int64();
      r.int64();
      r.nullableArray(false, (r) => [r.int64(), r.int64()]);
      return Buffer.from(r.bytes());
    });
  }) as [[Buffer]];
  return records;
}
