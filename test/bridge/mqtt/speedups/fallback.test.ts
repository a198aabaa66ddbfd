/**
 * A speed-up meets a dependency that is not the one it was written for: `bl` at another version,
 * and a `debug` whose export is not a logger factory. Both are skipped, each with a warning naming
 * the package, the version found and the version expected, and Weir still starts (the in-process
 * start tests use) and carries an MQTT publish to a subscriber.
 */
import { connectAsync } from 'mqtt';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { startWeir } from '../../../../src/main.js';
import { bridgeConfig } from '../../../helpers/mqtt-bridge.js';
import { tempDir } from '../../../helpers/store.js';

vi.mock('../../../../bridge/mqtt/speedups/installed.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../../bridge/mqtt/speedups/installed.js')>();
  return {
    ...real,
    installedPackage: (name: 'bl' | 'debug' | 'mqtt-packet') => {
      const found = real.installedPackage(name);
      if (name === 'bl') return { ...found, version: '7.0.0' };
      if (name === 'debug') return { ...found, load: () => ({ createDebug: 'not a function' }) };
      return found;
    },
  };
});

interface Line {
  level: number;
  msg: string;
  [field: string]: unknown;
}

describe('MQTT speed-ups that do not fit', () => {
  it('are skipped with a warning each, and Weir starts and carries MQTT messages without them', async () => {
    const lines: Line[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Line) });
    const { dir, cleanup } = tempDir('weir-speedups-');
    try {
      const weir = await startWeir(bridgeConfig(dir, { WEIR_ADMIN__ENABLED: 'false', WEIR_KAFKA__ENABLED: 'false' }), logger);
      try {
        const warnings = lines.filter((l) => l.level === 40 && l['speedup'] !== undefined);
        expect(warnings).toEqual([
          expect.objectContaining({ speedup: 'quiet-debug', package: 'debug', found: '4.4.3', expected: '4.4.3', reason: "debug's export is not a logger factory (object)" }),
          expect.objectContaining({ speedup: 'bl-reads', package: 'bl', found: '7.0.0', expected: '6.1.6', msg: expect.stringContaining('bl 7.0.0 found, 6.1.6 expected') }),
        ]);
        expect(lines.find((l) => l.msg === 'MQTT speed-ups')).toMatchObject({ applied: [], skipped: ['quiet-debug', 'bl-reads'] });

        const url = `mqtt://127.0.0.1:${weir.mqttAddress?.port}`;
        const subscriber = await connectAsync(url, { reconnectPeriod: 0 });
        const publisher = await connectAsync(url, { reconnectPeriod: 0 });
        await subscriber.subscribeAsync('room/+/temp', { qos: 1 });
        const received = new Promise<[string, string]>((resolve) => subscriber.once('message', (topic, payload) => resolve([topic, payload.toString()])));
        await publisher.publishAsync('room/7/temp', '21.5', { qos: 1 });
        expect(await received).toEqual(['room/7/temp', '21.5']);
        await publisher.endAsync();
        await subscriber.endAsync();
        expect(weir.store.offsets('mqtt', 0).highWatermark).toBe(1);
      } finally {
        await weir.shutdown('test');
      }
    } finally {
      cleanup();
    }
  });
});
