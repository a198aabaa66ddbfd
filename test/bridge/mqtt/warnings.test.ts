/**
 * Warnings a client can repeat at will are one line per interval with a count, not one line per
 * occurrence ("The hostile field": 100k retained messages over the cap, or 2000 refused
 * connections, wrote 100k lines); the counters still see every one.
 */
import net from 'node:net';
import { Writable } from 'node:stream';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestBridge, type RunningBridge } from '../../helpers/mqtt-bridge.js';
import { RawClient } from '../../helpers/mqtt-raw.js';
import { tempDir } from '../../helpers/store.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function loggedBridge(env: Record<string, string>): Promise<{ b: RunningBridge; lines: { level: number; msg: string; suppressed?: number }[] }> {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  const { dir, cleanup } = tempDir('weir-mqtt-warn-');
  const b = await startTestBridge(dir, pino({ level: 'info' }, sink), { WEIR_MQTT__RULES: '[{filter: "t/#", topic: t}]', ...env });
  cleanups.push(cleanup, () => b.close());
  return { b, lines };
}

const warnings = (lines: { level: number; msg: string }[], text: string) => lines.filter((l) => l.level === 40 && l.msg.includes(text));

describe('repeated warnings', () => {
  it('retained messages over the cap: one line, every refusal counted', async () => {
    const { b, lines } = await loggedBridge({ WEIR_MQTT__MAX_RETAINED_MESSAGES: '1' });
    const c = await connectAsync(b.url, { reconnectPeriod: 0 });
    cleanups.push(() => c.endAsync(true));
    for (let i = 0; i < 200; i++) await c.publishAsync(`t/${i}`, 'v', { qos: 1, retain: true });
    expect(b.bridge.stats().retainRefused).toBe(199);
    expect(warnings(lines, 'mqtt.max_retained_messages')).toHaveLength(1);
  });

  it('connections refused at mqtt.max_connections: one line, every refusal counted', async () => {
    const { b, lines } = await loggedBridge({ WEIR_MQTT__MAX_CONNECTIONS: '1' });
    const holder = await RawClient.connect(b.bridge.address.port, 'holder');
    cleanups.push(() => holder.end());
    for (let i = 0; i < 200; i++) {
      await new Promise<void>((resolve) => {
        const s = net.connect(b.bridge.address.port, '127.0.0.1');
        s.on('error', () => undefined);
        s.once('close', () => resolve());
      });
    }
    expect(b.bridge.stats().connections.rejectedMaxConnections).toBe(200);
    expect(warnings(lines, 'mqtt.max_connections')).toHaveLength(1);
  });
});
