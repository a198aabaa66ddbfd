/**
 * A client that drops with PUBLISHes in flight is counted once and logged at most once, not once
 * per packet: aedes reports an error for each packet it can no longer acknowledge, and a fleet of
 * sensors losing power (or a benchmark's load generators exiting) would otherwise write thousands
 * of identical lines. Such lines are also limited to one per 10 s, with a count.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestBridge } from '../../helpers/mqtt-bridge.js';
import { RawClient, publishPacket } from '../../helpers/mqtt-raw.js';
import { tempDir } from '../../helpers/store.js';

const IN_FLIGHT = 16;

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

describe('a client that drops with PUBLISHes in flight', () => {
  it('is logged once and counted once', async () => {
    const lines: { msg?: string; clientId?: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as { msg?: string; clientId?: string });
        done();
      },
    });
    const { dir, cleanup } = tempDir('weir-mqtt-errlog-');
    const b = await startTestBridge(dir, pino({ level: 'info' }, sink), { WEIR_MQTT__RULES: '[{filter: "t/#", topic: t}]' });
    cleanups.push(cleanup, () => b.close());

    for (let round = 0; round < 3; round++) {
      const c = await RawClient.connect(b.bridge.address.port, `dropper-${round}`);
      // All PUBLISHes in one write, then gone before any PUBACK can be written back.
      c.write(Buffer.concat(Array.from({ length: IN_FLIGHT }, (_, i) => publishPacket('t/x', Buffer.from(`m${i}`), { qos: 1, id: i + 1 }))));
      c.socket.resetAndDestroy();
      await c.closed;
    }
    // Every appended record settled: the acks that failed have been reported by now.
    await expect.poll(() => b.bridge.stats().appended, { timeout: 10_000 }).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 300));

    const errorLines = lines.filter((l) => l.msg === 'client disconnected after an error');
    const perClient = new Map<string, number>();
    for (const l of errorLines) perClient.set(l.clientId ?? '?', (perClient.get(l.clientId ?? '?') ?? 0) + 1);
    expect(perClient.size).toBe(1); // the drops did produce errors; later ones within 10 s are counted, not logged
    for (const [clientId, count] of perClient) expect({ clientId, count }).toEqual({ clientId, count: 1 });
    // Counted once per connection, not per packet.
    expect(b.bridge.stats().connections.closedProtocolError).toBeGreaterThanOrEqual(1);
    expect(b.bridge.stats().connections.closedProtocolError).toBeLessThanOrEqual(3);
  });
});
