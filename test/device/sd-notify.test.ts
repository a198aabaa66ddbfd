import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { watchdogIntervalMs } from '../../device/sd-notify.js';
import { systemdEnvironment } from '../../src/config/systemd-env.js';
import { startNotifyReceiver } from '../helpers/notify-receiver.js';

const CHILD = join(import.meta.dirname, '../../dist/test/helpers/watchdog-child.js');

describe('sd_notify over a real unix datagram socket', () => {
  it('sends READY=1, watchdog pings from the event loop that stop while it is stuck, and STOPPING=1', async () => {
    const receiver = await startNotifyReceiver();
    try {
      const child = spawn(process.execPath, [CHILD, '600', '1500'], {
        env: { ...process.env, NOTIFY_SOCKET: receiver.socket, WATCHDOG_USEC: '200000', WATCHDOG_PID: '' },
        stdio: 'inherit',
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      await receiver.waitFor('READY=1');
      await receiver.waitFor('STOPPING=1');
      expect(await exited).toBe(0);
      const msgs = receiver.messages;
      expect(msgs[0]!.msg).toBe('READY=1\nSTATUS=watchdog test');
      const blockedAt = msgs.find((m) => m.msg === 'STATUS=blocking the event loop')!.t;
      const pings = msgs.filter((m) => m.msg === 'WATCHDOG=1').map((m) => m.t);
      // Every 100 ms (half of WATCHDOG_USEC) while the loop runs…
      expect(pings.filter((t) => t < blockedAt).length).toBeGreaterThanOrEqual(4);
      // …none while it is stuck (1.5 s), and they resume afterwards. Times are when the receiver
      // read them, which a loaded machine delays: so the count says more than the widest gap.
      // 0.6 s running, 1.5 s stuck, 0.6 s running: about 12 pings, not the ~27 of a watchdog
      // that kept pinging through the block.
      expect(pings.length).toBeLessThanOrEqual(18);
      const gaps = pings.slice(1).map((t, i) => t - pings[i]!);
      expect(Math.max(...gaps)).toBeGreaterThanOrEqual(700);
      expect(pings.some((t) => t > blockedAt + 1500)).toBe(true);
    } finally {
      receiver.close();
    }
  });

  it('reads $NOTIFY_SOCKET and $WATCHDOG_USEC as sd_watchdog_enabled(3) does', () => {
    expect(systemdEnvironment({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '30000000' }, 42)).toEqual({ notifySocket: '/run/x', watchdogUsec: 30_000_000 });
    // WATCHDOG_PID names another process: the watchdog is not ours.
    expect(systemdEnvironment({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 42).watchdogUsec).toBeUndefined();
    expect(systemdEnvironment({}, 42)).toEqual({ notifySocket: undefined, watchdogUsec: undefined });
    expect(watchdogIntervalMs(30_000_000)).toBe(15_000);
  });
});
