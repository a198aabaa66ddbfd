/**
 * A client's messages are stored in the order it sent them [MQTT-4.6.0-5], also while their log
 * topic is being created: the first message waits for the topic on the slow path, and the
 * client's later ones, arriving once the topic is visible, must not overtake it on the fast path
 * (they did: the first of 500 was stored 169th).
 */
import { connectAsync } from 'mqtt';
import { afterEach, expect, it } from 'vitest';
import { readAll, startTestBridge } from '../../helpers/mqtt-bridge.js';
import { silentLogger, tempDir } from '../../helpers/store.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

it('500 QoS 1 messages sent at once to a topic that does not exist yet are stored in the order sent', async () => {
  const { dir, cleanup } = tempDir('weir-mqtt-order-');
  const b = await startTestBridge(dir, silentLogger, { WEIR_MQTT__CREATED_TOPIC_FLUSH_MS: '1000' });
  cleanups.push(cleanup, () => b.close());
  const client = await connectAsync(b.url, { clientId: 'in-order', reconnectPeriod: 0 });
  cleanups.push(() => client.endAsync(true));
  const sent = Array.from({ length: 500 }, (_, i) => `m-${i}`);
  await Promise.all(sent.map((payload) => client.publishAsync('order/qos1', payload, { qos: 1 })));
  expect(readAll(b.store, 'mqtt').map((r) => r.value?.toString())).toEqual(sent);
}, 60_000);
