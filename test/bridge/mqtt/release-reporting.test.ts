/**
 * The persistence aedes gets tells the ingest when PUBREL frees a QoS 2 packet id
 * (bridge/mqtt/persistence/release-reporting.ts), with either persistence: a PUBLISH carrying the
 * freed id afterwards is a new message, even with DUP set, and is appended [MQTT-4.3.3-2]. Were
 * the release not reported, the ingest would take it for a retransmission of the first and drop it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readAll, startTestBridge } from '../../helpers/mqtt-bridge.js';
import { RawClient, publishPacket, pubrelPacket } from '../../helpers/mqtt-raw.js';
import { silentLogger, tempDir } from '../../helpers/store.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

const PUBREC = (id: number): Buffer => Buffer.from([0x50, 0x02, id >> 8, id & 0xff]);
const PUBCOMP = (id: number): Buffer => Buffer.from([0x70, 0x02, id >> 8, id & 0xff]);

describe.each(['lmdb', 'memory'])('PUBREL with mqtt.persistence: %s', (persistence) => {
  it('frees the packet id: a DUP PUBLISH with it afterwards is a new message', async () => {
    const { dir, cleanup } = tempDir('weir-mqtt-release-');
    const running = await startTestBridge(dir, silentLogger, { WEIR_MQTT__RULES: '[{filter: "t/#", topic: t}]', WEIR_MQTT__PERSISTENCE: persistence });
    cleanups.push(cleanup, () => running.close());
    const c = await RawClient.connect(running.bridge.address.port, 'release');
    cleanups.push(() => c.end());

    c.write(publishPacket('t/a', Buffer.from('first'), { qos: 2, id: 3 }));
    expect(await c.read(4)).toEqual(PUBREC(3));
    c.write(pubrelPacket(3));
    expect(await c.read(4)).toEqual(PUBCOMP(3));
    c.write(publishPacket('t/a', Buffer.from('second'), { qos: 2, id: 3, dup: true }));
    expect(await c.read(4)).toEqual(PUBREC(3));
    expect(readAll(running.store, 't').map((r) => r.value?.toString())).toEqual(['first', 'second']);
    expect(running.bridge.stats().duplicates).toBe(0);
  });
});
