/**
 * sd_notify(3) without a native module. Node has no unix datagram sockets, so Weir keeps one small
 * helper process (Python 3, part of every Raspberry Pi OS and Debian image) that reads one JSON
 * string per line on stdin and sends it as a datagram to $NOTIFY_SOCKET. The helper lives as
 * long as Weir: unlike running `systemd-notify` per message, there is no race in which the
 * sender exits before systemd has looked up which unit it belongs to (systemd < 254 drops such
 * messages, and a lost READY=1 would make systemd kill Weir at TimeoutStartSec). The unit
 * therefore says NotifyAccess=all.
 *
 * Watchdog pings (WATCHDOG=1) come from a timer on Weir's own event loop: when the loop is stuck,
 * the pings stop and systemd restarts the service after WatchdogSec.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Logger } from '../src/logger.js';

const SENDER = `
import json, socket, sys
path = sys.argv[1]
if path.startswith('@'):
    path = '\\0' + path[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for line in sys.stdin:
    try:
        s.sendto(json.loads(line).encode(), path)
    except (OSError, ValueError) as e:
        print('sd_notify: %s' % e, file=sys.stderr, flush=True)
`;

export interface SdNotifyOptions {
  /** $NOTIFY_SOCKET: a path, or an abstract name starting with '@'. Absent when not under systemd. */
  socket: string | undefined;
  /** $WATCHDOG_USEC: the unit's WatchdogSec in microseconds, when a watchdog is configured. */
  watchdogUsec: number | undefined;
  python?: string;
}

export interface SdNotifier {
  /** The service is up: store open, listeners bound. */
  ready(status?: string): void;
  status(text: string): void;
  stopping(): void;
  /** Stops the watchdog and the helper (after STOPPING=1 has been sent). */
  close(): void;
}

const NOOP: SdNotifier = { ready() {}, status() {}, stopping() {}, close() {} };

/** Whether the interval runs at half the watchdog period, as sd_watchdog_enabled(3) advises. */
export function watchdogIntervalMs(watchdogUsec: number): number {
  return Math.max(1, Math.floor(watchdogUsec / 2000));
}

export function createSdNotifier(options: SdNotifyOptions, logger: Logger): SdNotifier {
  if (options.socket === undefined || options.socket === '') return NOOP;
  const log = logger.child({ component: 'systemd' });
  let helper: ChildProcess | undefined = spawn(options.python ?? 'python3', ['-c', SENDER, options.socket], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  helper.on('error', (err) => {
    log.error({ err }, 'cannot start the sd_notify helper (python3): systemd will not see READY=1 or watchdog pings');
    helper = undefined;
  });
  helper.stderr?.on('data', (d: Buffer) => log.warn({ detail: d.toString().trim() }, 'sd_notify helper'));
  helper.on('exit', (code) => {
    if (helper !== undefined) log.warn({ code }, 'sd_notify helper exited');
    helper = undefined;
  });
  // The helper must never keep Weir alive, nor block its exit.
  helper.unref();
  (helper.stdin as Socket | null)?.unref();
  (helper.stderr as Socket | null)?.unref();

  const send = (message: string) => {
    helper?.stdin?.write(`${JSON.stringify(message)}\n`);
  };

  let watchdog: NodeJS.Timeout | undefined;
  if (options.watchdogUsec !== undefined && options.watchdogUsec > 0) {
    watchdog = setInterval(() => send('WATCHDOG=1'), watchdogIntervalMs(options.watchdogUsec));
    watchdog.unref();
  }

  return {
    ready(status) {
      send(status === undefined ? 'READY=1' : `READY=1\nSTATUS=${status}`);
    },
    status(text) {
      send(`STATUS=${text}`);
    },
    stopping() {
      send('STOPPING=1');
    },
    close() {
      if (watchdog !== undefined) clearInterval(watchdog);
      const h = helper;
      helper = undefined;
      // Closing stdin lets the helper send what is queued, then exit on EOF.
      h?.stdin?.end();
    },
  };
}
