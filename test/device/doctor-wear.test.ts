import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkFlashWear, judgeWriteRate } from '../../device/doctor-wear.js';
import { Readiness } from '../../src/admin/readiness.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import { statusSnapshot } from '../../src/admin/status.js';
import { WearWindow } from '../../src/admin/wear-window.js';
import { createMetrics } from '../../src/admin/metrics.js';
import { loadConfig } from '../../src/config/load.js';
import type { LogStore } from '../../src/store/index.js';
import { openTestStore, silentLogger, tempDir } from '../helpers/store.js';

const config = (env: Record<string, string> = {}) => loadConfig({ env: { WEIR_STORE__DIR: '/tmp/weir-doctor-wear', ...env }, cwd: '/tmp' });

describe('doctor: flash wear judged from a write rate', () => {
  it('is fine when the rated endurance lasts five years or more, and says how long', () => {
    // 10 kB/s is 0.86 GB a day: 2 TB last 6.3 years.
    expect(judgeWriteRate({ windowSeconds: 3540, writeBytesPerSecond: 10_000 }, config())).toEqual({
      level: 'ok',
      name: 'flash wear',
      message: 'Weir writes 0.86 GB/day to storage (the rate of the last 59 min): 2 TB (device.flash_endurance_tbw) lasts 6.3 years at that rate',
    });
    expect(judgeWriteRate({ windowSeconds: 3540, writeBytesPerSecond: 0 }, config()).message).toMatch(/0\.0 GB\/day .* lasts over 100 years/);
  });

  it('warns when the device would be written past its rating within five years, and says which settings to change', () => {
    const r = judgeWriteRate({ windowSeconds: 1800, writeBytesPerSecond: 50_000 }, config({ WEIR_KAFKA__LISTEN: '0.0.0.0:9092' }));
    expect(r.level).toBe('warn');
    expect(r.message).toBe('Weir writes 4.32 GB/day to storage (the rate of the last 30 min): at that rate 2 TB (device.flash_endurance_tbw) is written in 1.3 years, less than 5 years');
    expect(judgeWriteRate({ windowSeconds: 1800, writeBytesPerSecond: 750_000 }, config()).message).toMatch(/is written in 31 days, less than 5 years$/);
    expect(r.fix).toBe(
      "Write less often: raise flush.ms on the busiest topics (the status page shows each topic's records/s): weir topics alter --bootstrap-server 127.0.0.1:9092 --topic <topic> --config flush.ms=1000 (more if it is 1000 already; topics MQTT ingest creates get mqtt.created_topic_flush_ms), or lower the publish rate. If the card is rated for more than 2 TB written, set device.flash_endurance_tbw to its rating.",
    );
    // A card rated higher is fine at the same rate; without the Kafka listener, topics alter works on the stopped Weir's data dir.
    expect(judgeWriteRate({ windowSeconds: 1800, writeBytesPerSecond: 50_000 }, config({ WEIR_DEVICE__FLASH_ENDURANCE_TBW: '30' })).level).toBe('ok');
    expect(judgeWriteRate({ windowSeconds: 1800, writeBytesPerSecond: 50_000 }, config({ WEIR_KAFKA__ENABLED: 'false' })).fix).toMatch(/: weir topics alter --topic <topic> --config flush\.ms=1000 with Weir stopped \(more if/);
  });

  it('cannot tell from the first minute after start', () => {
    expect(judgeWriteRate({ windowSeconds: 12.4, writeBytesPerSecond: 1e6 }, config())).toMatchObject({ level: 'info', message: expect.stringMatching(/^cannot tell yet: Weir started 12 s ago;/) });
  });
});

describe('doctor: flash wear asked of the running Weir', () => {
  let cleanup: (() => void) | undefined;
  let store: LogStore | undefined;
  let server: AdminServer | undefined;
  afterEach(async () => {
    await server?.close();
    await store?.close();
    cleanup?.();
  });

  it('says it cannot tell, as information, when Weir is not running or has no reachable admin listener', async () => {
    expect(await checkFlashWear(config(), false)).toEqual({
      level: 'info',
      name: 'flash wear',
      message: "cannot tell: Weir is not running on this data dir, and the check takes the running Weir's write rate",
    });
    expect((await checkFlashWear(config({ WEIR_ADMIN__ENABLED: 'false' }), true)).message).toMatch(/^cannot tell: admin\.enabled is false/);
    expect((await checkFlashWear(config({ WEIR_ADMIN__LISTEN: '127.0.0.1:0' }), true)).message).toMatch(/^cannot tell: admin\.listen has port 0/);
    // A port nobody listens on: bind one, note it, close it.
    const probe = createServer();
    const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)));
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const r = await checkFlashWear(config({ WEIR_ADMIN__LISTEN: `127.0.0.1:${port}` }), true);
    expect(r.level).toBe('info');
    expect(r.message).toMatch(new RegExp(`^cannot tell: no answer from http://127\\.0\\.0\\.1:${port}/api/status`));
  });

  it("reads the last hour's rate from the admin listener's /api/status", async () => {
    let dir: string;
    ({ dir, cleanup } = tempDir());
    store = await openTestStore(dir);
    let now = 0;
    let written = 0;
    const wear = new WearWindow(() => written, () => 0, () => now);
    now = 3_540_000;
    written = 3_540 * 50_000;
    const readiness = new Readiness();
    const s = store;
    server = await startAdminServer(
      { host: '127.0.0.1', port: 0 },
      { registry: createMetrics(s, 'test', wear), readiness, logger: silentLogger, status: () => statusSnapshot(s, readiness, 'test', new Map(), { window: wear, enduranceTbw: 2 }) },
    );
    const r = await checkFlashWear(config({ WEIR_ADMIN__LISTEN: `127.0.0.1:${server.address.port}` }), true);
    expect(r.level).toBe('warn');
    expect(r.message).toMatch(/^Weir writes 4\.32 GB\/day to storage \(the rate of the last 59 min\): at that rate 2 TB/);
  });
});
