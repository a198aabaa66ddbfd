/**
 * `weir simulate` against a real bridge: its readings land in the log, mapped by site and device.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runWeir } from '../../cli/helpers.js';
import { readAll, startTestBridge } from '../../helpers/mqtt-bridge.js';
import { silentLogger, tempDir } from '../../helpers/store.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

describe('weir simulate', () => {
  it('publishes JSON readings from many sensors; every acknowledged one is in the log', async () => {
    const { dir, cleanup } = tempDir('weir-sim-');
    const b = await startTestBridge(dir, silentLogger, {
      WEIR_MQTT__RULES: JSON.stringify([{ filter: 'sensors/{site}/{device}/{metric}', topic: 'sensors.{site}', key: '{device}' }]),
    });
    cleanups.push(cleanup, () => b.close());
    const r = await runWeir(['simulate', '--url', b.url, '--sensors', '20', '--rate', '10', '--sites', '2', '--duration', '1500ms'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const total = JSON.parse(r.stdout) as { connected: number; sent: number; acked: number; errors: number };
    expect(total.connected).toBe(20);
    expect(total.sent).toBeGreaterThan(100);
    expect(total.acked).toBe(total.sent);
    expect(r.stderr).toMatch(/sent \d+ \(\d+\/s\)\s+acked \d+/);

    const records = [...readAll(b.store, 'sensors.site-0'), ...readAll(b.store, 'sensors.site-1')];
    expect(records.length).toBe(total.acked);
    const reading = JSON.parse(records[0]!.value!.toString()) as Record<string, unknown>;
    expect(Object.keys(reading).sort()).toEqual(['device', 'metric', 'seq', 'ts', 'unit', 'value']);
    expect(records[0]!.key?.toString()).toBe(reading.device);
  });

  it('refuses a bad flag value with a usage error', async () => {
    const { dir, cleanup } = tempDir('weir-sim-');
    cleanups.push(cleanup);
    const r = await runWeir(['simulate', '--qos', '3'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--qos 3 is invalid');
  });
});
