/**
 * The status page as a person sees it: real Chromium (Debian's, driven by playwright-core),
 * real data from a store under load. The screenshot is kept in test/artifacts/ for a human look.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { chromium, type Browser } from 'playwright-core';
import { startMqttBridge, type MqttBridge } from '../../bridge/mqtt/index.js';
import { mqttOptionsFromConfig } from '../../bridge/mqtt/options.js';
import { mqttStatusSection } from '../../bridge/mqtt/status.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/admin/metrics.js';
import { Readiness } from '../../src/admin/readiness.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import { StatusRates } from '../../src/admin/status-rates.js';
import { statusSnapshot } from '../../src/admin/status.js';
import { WearWindow } from '../../src/admin/wear-window.js';
import type { LogStore } from '../../src/store/index.js';
import { bridgeConfig } from '../helpers/mqtt-bridge.js';
import { openTestStore, silentLogger, tempDir } from '../helpers/store.js';

const ARTIFACTS = join(import.meta.dirname, '../artifacts');

describe('status page in headless Chromium', () => {
  let cleanup: () => void;
  let store: LogStore;
  let server: AdminServer;
  let browser: Browser;
  let mqtt: MqttBridge;
  let rates: StatusRates;
  let sensors: MqttClient[] = [];

  beforeEach(async () => {
    let dir: string;
    ({ dir, cleanup } = tempDir());
    store = await openTestStore(dir);
    const readiness = new Readiness();
    readiness.register({ name: 'store', check: () => undefined });
    // A real MQTT bridge on the same store: its section on the page comes from live counters.
    mqtt = await startMqttBridge(mqttOptionsFromConfig(bridgeConfig(dir)), store, silentLogger);
    const sections = new Map([['mqtt', () => mqttStatusSection(mqtt)]]);
    // Flash wear on a clock of its own: 30 minutes in which 90 MB were written (50 kB/s, 4.32 GB a
    // day) for 9 MB of payload; a 2 TB card lasts 1.3 years at that rate.
    let now = 0;
    let written = 0;
    let payload = 0;
    const wear = new WearWindow(() => written, () => payload, () => now);
    now = 1_800_000;
    written = 90_000_000;
    payload = 9_000_000;
    // Weir's own rate samples, every 0.5 s while no page asks (5 s in Weir) to keep the test short.
    rates = new StatusRates(() => statusSnapshot(store, readiness, '0.1.0', sections, { window: wear, enduranceTbw: 2 }), undefined, 500);
    server = await startAdminServer(
      { host: '127.0.0.1', port: 0 },
      {
        registry: createMetrics(store, '0.1.0', wear),
        readiness,
        logger: silentLogger,
        status: () => rates.snapshot(),
      },
    );
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterEach(async () => {
    rates.stop();
    await browser?.close();
    await Promise.all(sensors.map((c) => c.endAsync()));
    sensors = [];
    await mqtt.close();
    await server.close();
    await store.close();
    cleanup();
  });

  it('shows topics with live rates and sizes, consumer-group lag, disk headroom, flash wear, readiness and MQTT clients', async () => {
    await store.createTopic('sensors.temperature', { partitions: 3 });
    await store.createTopic('sensors.humidity');
    // A compacted topic, compacted once: its partition gets a line in the log compaction section.
    await store.createTopic('devices.config', { configs: { 'cleanup.policy': 'compact', 'segment.bytes': '100' } });
    for (let i = 0; i < 5; i++) await store.appendRecords('devices.config', 0, [{ key: Buffer.from('dev-1'), value: Buffer.alloc(400, i) }]);
    await store.runCompaction();
    let appending = true;
    const load = (async () => {
      for (let i = 0; appending; i++) {
        await store.appendRecords('sensors.temperature', i % 3, [{ key: null, value: Buffer.from(`{"t":${20 + (i % 10)}}`) }]);
        if (i % 4 === 0) await store.appendRecords('sensors.humidity', 0, [{ key: null, value: Buffer.from('{"h":40}') }]);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    sensors = await Promise.all([1, 2, 3].map((n) => connectAsync(`mqtt://127.0.0.1:${mqtt.address.port}`, { clientId: `sensor-${n}`, reconnectPeriod: 0 })));
    const publishing = (async () => {
      for (let i = 0; appending; i++) {
        await Promise.all(sensors.map((c, n) => c.publishAsync(`sensors/site-1/dev-${n}/temp`, `{"t":${i}}`, { qos: 1 })));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await store.commitGroupOffsets('dashboard', [{ topic: 'sensors.temperature', partition: 0, offset: 0, leaderEpoch: -1, metadata: null }]);
    // Weir has been running with this traffic for a while (its samples are at least a second old).
    rates.start();
    await new Promise((r) => setTimeout(r, 1600));

    // One sample only (no second poll for 10 min): every rate is there, with its unit on the label.
    const first = await browser.newPage();
    await first.goto(`http://127.0.0.1:${server.address.port}/?refresh=600000`);
    await first.waitForSelector('[data-section="mqtt"] [data-card="received"]');
    expect(Number(await first.textContent('tr[data-topic="sensors.temperature"] td.rate'))).toBeGreaterThan(0);
    expect(Number(await first.textContent('#rate'))).toBeGreaterThan(0);
    expect(Number(await first.textContent('[data-section="mqtt"] [data-card="received"] b'))).toBeGreaterThan(0);
    const rateCards = await first.$$eval('.card', (cards) => cards.map((c) => [c.querySelector('b')?.textContent, c.querySelector('span')?.textContent]));
    expect(rateCards).toContainEqual([expect.stringMatching(/^\d/), 'records appended, all topics (records/s)']);
    expect(rateCards).toContainEqual([expect.stringMatching(/^\d/), 'PUBLISH received (msg/s)']);
    expect(rateCards).toContainEqual([expect.stringMatching(/^\d/), 'records appended from MQTT (records/s)']);
    expect(rateCards.filter(([value]) => value === '–')).toEqual([]);
    await first.close();

    const page = await browser.newPage({ viewport: { width: 1000, height: 760 } });
    await page.goto(`http://127.0.0.1:${server.address.port}/?refresh=300`);
    await page.waitForSelector('tr[data-topic="sensors.temperature"]');
    await page.waitForTimeout(1500); // let the sparklines draw a few points for the screenshot
    appending = false;
    await Promise.all([load, publishing]);

    expect(await page.textContent('#ready')).toBe('ready');
    const rows = await page.$$eval('#topics tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows.map((r) => r[0])).toEqual(['devices.config', 'mqtt', 'sensors.humidity', 'sensors.temperature']);
    expect(rows[3]![1]).toBe('3');
    expect(Number(rows[3]![4]!.replace(/,/g, ''))).toBeGreaterThan(0);
    const compaction = await page.$$eval('[data-section="compaction"] tbody td', (tds) => tds.map((td) => td.textContent));
    expect(compaction).toEqual(['devices.config-0', '0 %', expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/), expect.stringMatching(/^1\.\d KiB$/), 'no']);
    expect(await page.textContent('[data-section="mqtt"] [data-card="clients"] b')).toBe('3');
    expect(await page.textContent('[data-section="mqtt"] table')).toMatch(/mqtt \(tcp\)127\.0\.0\.1:\d+/);
    expect(await page.textContent('#groups')).toMatch(/dashboard/);
    expect(await page.textContent('#used')).toMatch(/KiB|B \//);
    expect(await page.$$('svg.spark polyline')).toHaveLength(4);
    expect(await page.textContent('#wear-day')).toBe('4.32 GB/day');
    expect(await page.textContent('#wear-day-label')).toBe('written to storage per day, at the rate of the last 30 min');
    expect(await page.textContent('#wear-ratio')).toBe('10.0');
    expect(await page.textContent('#wear-years')).toBe('1.3 years');
    expect(await page.textContent('#wear-years-label')).toBe('until 2 TB (device.flash_endurance_tbw) is written at this rate');
    expect(await page.getAttribute('#wear-years-card', 'class')).toBe('card warn');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'status-page.png'), fullPage: true });
  }, 60_000);
});
