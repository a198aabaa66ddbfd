/**
 * Topic names and filters are UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]: a PUBLISH or a
 * SUBSCRIBE carrying U+0000 or ill-formed UTF-8 closes its connection [MQTT-4.7.3-2], with no
 * PUBACK and nothing stored (it used to be acknowledged and stored under U+FFFD, so distinct
 * topics collided). Well-formed multi-byte topics are untouched.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readAll, startTestBridge, type RunningBridge } from '../../helpers/mqtt-bridge.js';
import { RawClient, publishPacket, subscribePacket } from '../../helpers/mqtt-raw.js';
import { silentLogger, tempDir } from '../../helpers/store.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function bridge(): Promise<RunningBridge> {
  const { dir, cleanup } = tempDir('weir-mqtt-topic-');
  const b = await startTestBridge(dir, silentLogger);
  cleanups.push(cleanup, () => b.close());
  return b;
}

async function client(b: RunningBridge, id: string): Promise<RawClient> {
  const c = await RawClient.connect(b.bridge.address.port, id);
  cleanups.push(() => c.end());
  return c;
}

/** Resolves when the broker has closed the connection; fails after 3 s. */
async function closedByBroker(c: RawClient): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error('the connection is still open')), 3000)));
  await Promise.race([c.closed, late]).finally(() => clearTimeout(timer));
}

const MALFORMED: [string, Buffer][] = [
  ['U+0000', Buffer.from('t/a\u0000b', 'utf8')],
  ['a byte that is never UTF-8 (0xFF)', Buffer.from([0x74, 0x2f, 0xff])],
  ['another one (0xFE), which used to be stored under the same topic as 0xFF', Buffer.from([0x74, 0x2f, 0xfe])],
  ['a truncated sequence', Buffer.from([0x74, 0x2f, 0xc3])],
  ['an overlong encoding of "/"', Buffer.from([0x74, 0xc0, 0xaf, 0x78])],
  ['a UTF-16 surrogate encoded in UTF-8', Buffer.from([0x74, 0x2f, 0xed, 0xa0, 0x80])],
];

describe('topic strings [MQTT-1.5.3]', () => {
  for (const [what, topic] of MALFORMED) {
    it(`a PUBLISH whose topic has ${what} closes the connection, unacknowledged and not stored`, async () => {
      const b = await bridge();
      const c = await client(b, 'bad-publisher');
      c.write(publishPacket(topic, Buffer.from('v'), { qos: 1, id: 7 }));
      await closedByBroker(c);
      await expect(c.read(4)).rejects.toThrow(/closed/);
      expect(b.bridge.stats().appended).toBe(0);
      expect(b.bridge.stats().refused).toEqual({ 'malformed-topic': 1 });
    });

    it(`a SUBSCRIBE whose filter has ${what} closes the connection`, async () => {
      const b = await bridge();
      const c = await client(b, 'bad-subscriber');
      c.write(subscribePacket(topic, 0));
      await closedByBroker(c);
      await expect(c.read(5)).rejects.toThrow(/closed/);
    });
  }

  it('well-formed multi-byte topics are acknowledged, stored and delivered as sent', async () => {
    const b = await bridge();
    const sub = await client(b, 'subscriber');
    sub.write(subscribePacket('capteurs/température/#', 0));
    expect((await sub.read(5)).toString('hex')).toBe('9003000100');
    const pub = await client(b, 'publisher');
    const topic = 'capteurs/température/北京/🌡';
    pub.write(publishPacket(topic, Buffer.from('21.5'), { qos: 1, id: 1 }));
    expect((await pub.read(4)).toString('hex')).toBe('40020001');
    expect(readAll(b.store, 'mqtt').map((r) => r.headers['mqtt.topic'])).toEqual([topic]);
    const expected = publishPacket(topic, Buffer.from('21.5'), { qos: 0 });
    expect(await sub.read(expected.length)).toEqual(expected);
  });
});
