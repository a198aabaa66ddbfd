/**
 * Child for the watchdog test: notifies READY, lets the watchdog ping for a while, then blocks
 * its own event loop (as a bug would) for `blockMs`, then says STOPPING and exits.
 *
 * Usage: NOTIFY_SOCKET=… WATCHDOG_USEC=… node watchdog-child.js <runMs> <blockMs>
 */
import { pino } from 'pino';
import { createSdNotifier } from '../../device/sd-notify.js';
import { systemdEnvironment } from '../../src/config/systemd-env.js';

const runMs = Number(process.argv[2] ?? 600);
const blockMs = Number(process.argv[3] ?? 1500);
const env = systemdEnvironment();
const notifier = createSdNotifier({ socket: env.notifySocket, watchdogUsec: env.watchdogUsec }, pino({ level: 'silent' }));
notifier.ready('watchdog test');
await new Promise((resolve) => setTimeout(resolve, runMs));
notifier.status('blocking the event loop');
const until = Date.now() + blockMs;
while (Date.now() < until) {
  // A stuck event loop: no timer can fire, so no WATCHDOG=1 goes out.
}
await new Promise((resolve) => setTimeout(resolve, runMs));
notifier.stopping();
notifier.close();
