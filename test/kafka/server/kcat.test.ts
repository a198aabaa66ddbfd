/**
 * kcat (Debian's, librdkafka 2.0.2) against a real listener on port 0: produce with every
 * codec, consume from the beginning over Fetch with -J, list offsets with -Q.
 * .ci/run installs kcat; without it this file fails (requireKcat).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { partitionForKey } from '../../../src/kafka/protocol/murmur2.js';
import { readBatchHeader } from '../../../src/kafka/protocol/record-batch.js';
import { startTestBroker, startTestBrokerBehindProxy, type TestBroker } from './helpers.js';
import { requireKcat } from '../../helpers/required-tools.js';

const CODEC_IDS: Record<string, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

const run = promisify(execFile);
requireKcat();

interface KcatMessage {
  topic: string;
  partition: number;
  offset: number;
  ts: number;
  key: string | null;
  payload: string | null;
  headers?: string[];
}

let broker: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker();
});

afterAll(async () => {
  await broker?.close();
});

async function kcat(args: string[], input?: string, bootstrap = broker.bootstrap): Promise<string> {
  const child = run('kcat', ['-b', bootstrap, ...args], { timeout: 20_000, maxBuffer: 64 * 1024 * 1024 });
  if (input !== undefined) {
    child.child.stdin!.end(input);
  }
  const { stdout } = await child;
  return stdout;
}

async function consume(topic: string, partition: number): Promise<KcatMessage[]> {
  const out = await kcat(['-C', '-t', topic, '-p', String(partition), '-o', 'beginning', '-e', '-J', '-q']);
  return out.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as KcatMessage);
}

describe('kcat', () => {
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    it(`produces with -z ${codec} and consumes it back from the beginning`, async () => {
      const topic = `kcat-${codec}`;
      const lines = Array.from({ length: 200 }, (_, i) => `k${i % 7}:value-${codec}-${i}`);
      await kcat(['-P', '-t', topic, '-p', '0', '-K', ':', '-z', codec, '-H', 'origin=kcat', '-X', 'linger.ms=5'], lines.join('\n') + '\n');
      const msgs = await consume(topic, 0);
      expect(msgs.map((m) => `${m.key}:${m.payload}`)).toEqual(lines);
      expect(msgs.map((m) => m.offset)).toEqual(lines.map((_, i) => i));
      expect(msgs[0]!.headers).toEqual(['origin', 'kcat']);
      // Stored as kcat compressed it: librdkafka kept compression on (Produce v0 is advertised).
      const stored = broker.store.read(topic, 0, 0, 64 << 20).batches.map((b) => readBatchHeader(b).compression);
      // librdkafka 2.0 enables LZ4 only when the broker advertises FindCoordinator v0 (its
      // "broker >= 0.8.2" probe); that handler comes with the group coordinator.
      const lz4Off = codec === 'lz4' && broker.listener.registry.get(10) === undefined;
      const expected = lz4Off ? 0 : CODEC_IDS[codec]!;
      expect(stored).toContain(expected);
      // librdkafka sends a batch uncompressed when compressing would not shrink it (a batch of one
      // short record, as linger splits them differently on a busy machine): nothing else may appear.
      expect([...new Set(stored)].filter((c) => c !== expected && c !== 0)).toEqual([]);
    });
  }

  it('librdkafka idempotent producer (enable.idempotence=true) writes each record once', async () => {
    const lines = Array.from({ length: 500 }, (_, i) => `idem-${i}`);
    await kcat(['-P', '-t', 'kcat-idem', '-p', '0', '-X', 'enable.idempotence=true', '-X', 'linger.ms=2'], lines.join('\n') + '\n');
    const msgs = await consume('kcat-idem', 0);
    expect(msgs.map((m) => m.payload)).toEqual(lines);
  });

  it('reads what kafkajs produced, with keys, headers and timestamps', async () => {
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'from-kafkajs', messages: [
      { key: 'a', value: 'one', headers: { h: 'x' }, timestamp: '1700000000001' },
      { key: 'b', value: 'two', timestamp: '1700000000002' },
    ] });
    await producer.disconnect();
    const msgs = await consume('from-kafkajs', 0);
    expect(msgs.map((m) => [m.offset, m.key, m.payload, m.ts])).toEqual([[0, 'a', 'one', 1700000000001], [1, 'b', 'two', 1700000000002]]);
    expect(msgs[0]!.headers).toEqual(['h', 'x']);
  });

  it('long-polls: a consumer started before the data sees it when it is produced', async () => {
    await broker.store.createTopic('late');
    const consumer = kcat(['-C', '-t', 'late', '-p', '0', '-o', 'beginning', '-c', '3', '-J', '-q']);
    await broker.store.appendRecords('late', 0, [{ key: null, value: Buffer.from('x1') }, { key: null, value: Buffer.from('x2') }, { key: null, value: Buffer.from('x3') }]);
    const out = (await consumer).trim().split('\n').map((l) => JSON.parse(l) as KcatMessage);
    expect(out.map((m) => m.payload)).toEqual(['x1', 'x2', 'x3']);
  });

  it('lists offsets by time and at the ends (-Q)', async () => {
    await broker.store.createTopic('times');
    await broker.store.appendRecords('times', 0, [1000, 2000, 3000].map((ts) => ({ key: null, value: Buffer.from(String(ts)), timestamp: ts })));
    const out = await kcat(['-Q', '-t', 'times:0:2000']);
    expect(out).toMatch(/times \[0\] offset 1/);
    const earliest = await kcat(['-Q', '-t', 'times:0:-2']);
    expect(earliest).toMatch(/times \[0\] offset 0/);
    const latest = await kcat(['-Q', '-t', 'times:0:-1']);
    expect(latest).toMatch(/times \[0\] offset 3/);
  });

  it('keyed produce (-K, murmur2_random: Java\'s partitioner) puts each key where Java does, headers and timestamps kept', async () => {
    // kcat has no admin commands: the topic is made here (auto-create would give it 1 partition).
    await broker.store.createTopic('kcat-keyed', { partitions: 4 });
    const keys = Array.from({ length: 40 }, (_, i) => `device-${i}`);
    const before = Date.now();
    await kcat(['-P', '-t', 'kcat-keyed', '-K', ':', '-H', 'site=north', '-X', 'topic.partitioner=murmur2_random'], keys.map((k, i) => `${k}:v${i}`).join('\n') + '\n');
    const after = Date.now();
    for (let p = 0; p < 4; p++) {
      const msgs = await consume('kcat-keyed', p);
      const expected = keys.map((k, i) => ({ k, i })).filter(({ k }) => partitionForKey(Buffer.from(k), 4) === p);
      expect(msgs.map((m) => [m.offset, m.key, m.payload, m.headers])).toEqual(expected.map(({ k, i }, n) => [n, k, `v${i}`, ['site', 'north']]));
      // CreateTime set by the producer, kept by the broker.
      for (const m of msgs) expect(m.ts).toBeGreaterThanOrEqual(before - 1000), expect(m.ts).toBeLessThanOrEqual(after + 1000);
    }
  });

  it('a 1 MiB record: refused at the default max.message.bytes, accepted once the topic raises it, fetched whole', async () => {
    const big = 'b'.repeat(1024 * 1024);
    const bigger = ['-X', 'message.max.bytes=4000000'];
    await broker.store.createTopic('kcat-small');
    // kcat reports the failed delivery and exits non-zero; nothing is stored.
    await expect(kcat(['-P', '-t', 'kcat-small', '-p', '0', ...bigger], big + '\n')).rejects.toThrow(/too large/i);
    expect(broker.store.offsets('kcat-small', 0).highWatermark).toBe(0);
    await broker.store.createTopic('kcat-big', { configs: { 'max.message.bytes': String(2 * 1024 * 1024) } });
    await kcat(['-P', '-t', 'kcat-big', '-p', '0', ...bigger], big + '\nsmall\n');
    const msgs = await consume('kcat-big', 0);
    expect(msgs.map((m) => [m.offset, m.payload?.length])).toEqual([[0, big.length], [1, 5]]);
    expect(msgs[0]!.payload === big).toBe(true);
  });

  it('idempotent producer whose Produce responses are lost retries without writing twice', async () => {
    const behind = await startTestBrokerBehindProxy();
    const { proxy } = behind;
    try {
      proxy.dropProduceResponses = 2;
      const lines = Array.from({ length: 2000 }, (_, i) => `line-${i}`);
      // -E: kcat exits on the first connection error otherwise, before librdkafka's retry.
      await kcat(['-P', '-E', '-t', 'kcat-retry', '-p', '0', '-X', 'enable.idempotence=true', '-X', 'batch.num.messages=200', '-X', 'reconnect.backoff.ms=20'],
        lines.join('\n') + '\n', behind.bootstrap);
      expect(proxy.dropped).toBe(2);
      const { records } = behind.broker.stored('kcat-retry', 0);
      expect(records.map((r) => r.value?.toString())).toEqual(lines);
      expect(records.map((r) => r.offset)).toEqual(lines.map((_, i) => i));
    } finally {
      await behind.close();
    }
  });

  it('lists metadata (-L) with the advertised host and port', async () => {
    await broker.store.createTopic('listed', { partitions: 2 });
    const out = await kcat(['-L', '-t', 'listed']);
    expect(out).toContain(`broker 0 at 127.0.0.1:${broker.port}`);
    expect(out).toMatch(/topic "listed" with 2 partitions/);
  });
});
