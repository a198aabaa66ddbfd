/**
 * `weir start` as systemd runs it: READY=1 on $NOTIFY_SOCKET only once the store is open and the
 * listeners are bound, watchdog pings, STATUS= lines, STOPPING=1 on SIGTERM; and the admin
 * listener answering /readyz and /metrics while it runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startNotifyReceiver } from '../helpers/notify-receiver.js';
import { assertBuilt, finished, spawnWeir, waitForLog } from './helpers.js';

let cwd: string;
beforeEach(() => {
  assertBuilt();
  cwd = mkdtempSync(path.join(tmpdir(), 'weir-service-'));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

it('notifies READY with a status line, pings the watchdog, serves /readyz and /metrics, says STOPPING on SIGTERM', async () => {
  const receiver = await startNotifyReceiver();
  try {
    const child = spawnWeir(['start'], {
      cwd,
      env: { WEIR_STORE__DIR: path.join(cwd, 'data'), NOTIFY_SOCKET: receiver.socket, WATCHDOG_USEC: '400000' },
    });
    const ready = await waitForLog(child, 'ready');
    const admin = String(ready['admin']);
    expect(admin).toMatch(/^127\.0\.0\.1:\d+$/);
    const notified = await receiver.waitFor('READY=1');
    expect(notified.msg).toMatch(/^READY=1\nSTATUS=0 records appended, 0 topics, disk budget 0% used; 0 Kafka clients; 0 MQTT clients$/);
    await receiver.waitFor('WATCHDOG=1');

    const readyz = await fetch(`http://${admin}/readyz`);
    expect(readyz.status).toBe(200);
    expect(await readyz.json()).toMatchObject({ ready: true, checks: { store: 'ok', kafka: 'ok', mqtt: 'ok' } });
    expect(String(ready['kafka'])).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(String(ready['mqtt'])).toMatch(/^127\.0\.0\.1:\d+$/);
    const metrics = await (await fetch(`http://${admin}/metrics`)).text();
    expect(metrics).toMatch(/^weir_store_used_bytes 0$/m);

    child.kill('SIGTERM');
    const result = await finished(child);
    expect(result.code).toBe(0);
    await receiver.waitFor('STOPPING=1');
    // READY came before STOPPING, and nothing after STOPPING claims readiness again.
    const order = receiver.messages.map((m) => m.msg.split('\n')[0]);
    expect(order.indexOf('READY=1')).toBeLessThan(order.indexOf('STOPPING=1'));
  } finally {
    receiver.close();
  }
});
