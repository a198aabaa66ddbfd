/**
 * An idempotent producer (librdkafka, enable.idempotence=true) retrying across a compaction is
 * not duplicated (KIP-98). The fault proxy lets a Produce request reach the broker, swallows its
 * response and cuts the connection, then refuses new ones; while the producer waits to retry, the
 * batch it could not see acknowledged is superseded in part by another writer, its segment
 * closes, and the log cleaner rewrites it. Then the proxy lets the producer back: its retry must be
 * answered with the batch's original offsets and not be stored again, its next batch must follow
 * in sequence, and a consumer must read each record once, at its first offset, the superseded
 * ones gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopic, DrProducer, loadCkjs, type Ckjs, type CkjsModule } from '../server/ckjs.js';
import { startTestBrokerBehindProxy } from '../server/helpers.js';
import { until } from '../../helpers/until.js';
import { latestPerKey, readWithLibrdkafka, type Seen } from './helpers.js';

const TOPIC = 'gateway-settings';

let ckjs: CkjsModule;
let behind: Awaited<ReturnType<typeof startTestBrokerBehindProxy>>;
let admin: Ckjs.IAdminClient;

beforeAll(async () => {
  ckjs = loadCkjs();
  behind = await startTestBrokerBehindProxy();
  admin = ckjs.AdminClient.create({ 'bootstrap.servers': behind.bootstrap });
});

afterAll(async () => {
  admin?.disconnect();
  await behind?.close();
});

/** Produces setting-k = "tag-k" for each of `keys`; resolves with the records at the offsets their delivery reports give. */
async function send(producer: DrProducer, keys: number[], tag: string): Promise<Seen[]> {
  const reports = await producer.send(TOPIC, keys.map((k) => ({ key: `setting-${k}`, value: Buffer.from(`${tag}-${k}`) })));
  return reports.map((r, i) => ({ offset: r.offset, key: r.key, value: `${tag}-${keys[i]}` }));
}
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe('idempotent produce retried across a compaction', () => {
  it('the retry is answered with the original offsets and stored once; the superseded records go', async () => {
    const { broker, proxy } = behind;
    await createTopic(admin, { topic: TOPIC, num_partitions: 1, replication_factor: 1, config: { 'cleanup.policy': 'compact', 'segment.bytes': '1024' } });
    const producer = await new DrProducer(ckjs, {
      'bootstrap.servers': behind.bootstrap, 'enable.idempotence': true, 'reconnect.backoff.ms': 20, 'reconnect.backoff.max.ms': 200,
    }).connect();
    try {
      const first = await send(producer, range(0, 20), 'a');
      expect(first.map((r) => r.offset)).toEqual(range(0, 20));

      // The second batch is stored, its response lost; the producer cannot reconnect for now.
      proxy.dropProduceResponses = 1;
      proxy.onProduceResponseDropped = () => {
        proxy.refuse = true;
      };
      const retried = send(producer, range(0, 10), 'b');
      await until('the second batch to be stored and its response dropped', () => proxy.dropped === 1 && broker.store.offsets(TOPIC, 0).highWatermark === 30, 10_000);

      // Meanwhile another writer (the store's own append path, as MQTT ingest's) supersedes half
      // of that batch, then closes its segment with a record over segment.bytes.
      const others = (await broker.store.appendRecords(TOPIC, 0, range(0, 5).map((k) => ({ key: Buffer.from(`setting-${k}`), value: Buffer.from(`c-${k}`) })))).baseOffset;
      const rollerOffset = (await broker.store.appendRecords(TOPIC, 0, [{ key: Buffer.from('roller'), value: Buffer.from('r'.repeat(1100)) }])).baseOffset;
      const report = await broker.store.runCompaction();
      // The first batch loses setting-0..9, the second setting-0..4.
      expect(report).toMatchObject({ partitionsCompacted: 1, recordsRemoved: 15 });

      proxy.refuse = false;
      const second = await retried;
      expect(second.map((r) => r.offset)).toEqual(range(20, 30));
      expect(proxy.dropped).toBe(1);
      // Its next batch follows in sequence (no OUT_OF_ORDER_SEQUENCE_NUMBER), after the roller.
      const third = await send(producer, range(10, 13), 'd');
      expect(third.map((r) => r.offset)).toEqual(range(rollerOffset + 1, rollerOffset + 4));

      const produced: Seen[] = [
        ...first, ...second,
        ...range(0, 5).map((k) => ({ offset: others + k, key: `setting-${k}`, value: `c-${k}` })),
        { offset: rollerOffset, key: 'roller', value: 'r'.repeat(1100) },
        ...third,
      ];
      const seen = await readWithLibrdkafka(ckjs)(behind.bootstrap, TOPIC, 0, third.at(-1)!.offset);
      expect(seen).toEqual(latestPerKey(produced, rollerOffset));
      expect(new Set(seen.map((r) => r.value)).size).toBe(seen.length);
    } finally {
      proxy.onProduceResponseDropped = undefined;
      await producer.disconnect();
    }
  });
});
