/**
 * The global memory guard. Weir's buffers are each capped, but enough clients at once can still
 * take the process towards the unit's `MemoryHigh=` (where the kernel starts throttling it) and
 * `MemoryMax=` (where it kills it). The guard samples the process's anonymous memory (`RssAnon`
 * in /proc/self/status: the V8 heap and malloc, not LMDB's file pages, which the kernel reclaims)
 * and, once it passes PRESS_SHARE of `device.memory_high_bytes`, stops reading every client socket
 * and refuses new connections, until it is back under RELEASE_SHARE (hysteresis: one GC does not
 * make it flap). What is already read is served; clients feel TCP backpressure, and acks still go
 * out, so memory drains.
 *
 * One process-wide instance (`memoryGuard`): memory is the process's, and the listeners reach it
 * with one line in their accept path (`if (!memoryGuard.admit(socket)) return;`). Until `start()`
 * (main.ts) it is never pressed. Sampling runs on an unref'd timer; the reader and the clock are
 * injected in tests.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { Logger } from './logger.js';

/** Reads stop and connections are refused at this share of the memory-high figure... */
export const PRESS_SHARE = 0.9;
/** ...and resume below this one. */
export const RELEASE_SHARE = 0.8;
const DEFAULT_INTERVAL_MS = 1_000;
/**
 * Longest the guard holds reads while memory does not come back. Freed memory is not always
 * returned to the OS (glibc keeps heap arenas once its mmap threshold has grown, e.g. after 1 MB
 * buffers), so RssAnon can stay above the release mark with no traffic left to blame: holding on
 * would wedge Weir for good. After this long it reads again, and presses next only above what it
 * saw then (plus PRESS_MARGIN_SHARE), until RssAnon falls under the release mark.
 */
export const MAX_PRESSED_MS = 60_000;
const PRESS_MARGIN_SHARE = 0.05;
/** At most one log line this often (with the count of what it stands for). */
const LOG_EVERY_MS = 10_000;

/** The process's `RssAnon` in bytes, or undefined where /proc/self/status has none (not Linux). */
export function readRssAnon(): number | undefined {
  try {
    const match = /^RssAnon:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

export interface MemoryGuardOptions {
  /** `device.memory_high_bytes`, resolved: the unit's MemoryHigh=. */
  memoryHighBytes: number;
  log: Logger;
  intervalMs?: number;
  readRssAnon?: () => number | undefined;
  now?: () => number;
}

interface Held {
  hold(): void;
  release(): void;
}

export class MemoryGuard extends EventEmitter<{ change: [pressed: boolean] }> {
  private pressed = false;
  private options: Required<MemoryGuardOptions> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly sockets = new Set<Held>();
  private rssAnon: number | undefined;
  /** Connections refused while pressed, since start. */
  refused = 0;
  private lastLogAt = -Infinity;
  private unlogged = 0;
  private pressLogged = false;
  private pressedSince = 0;
  /** Presses only at or above this, after a press that timed out (see MAX_PRESSED_MS). */
  private pressFloor = 0;

  start(options: MemoryGuardOptions): void {
    this.stop();
    this.options = { intervalMs: DEFAULT_INTERVAL_MS, readRssAnon, now: Date.now, ...options };
    this.refused = 0;
    this.lastLogAt = -Infinity;
    this.unlogged = 0;
    this.pressLogged = false;
    this.pressFloor = 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops sampling and lets every socket be read again. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.setPressed(false);
    this.options = undefined;
  }

  isPressed(): boolean {
    return this.pressed;
  }

  /** Why Weir is not taking traffic, for /readyz; undefined when it is. */
  pressure(): string | undefined {
    if (!this.pressed || this.options === undefined) return undefined;
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    return `memory pressure: RssAnon ${mib(this.rssAnon ?? 0)} passed ${PRESS_SHARE * 100}% of device.memory_high_bytes (${mib(this.options.memoryHighBytes)}); not reading sockets, refusing connections until under ${mib(RELEASE_SHARE * this.options.memoryHighBytes)}`;
  }

  figures(): { pressed: boolean; rssAnonBytes: number | undefined; memoryHighBytes: number | undefined; refused: number } {
    return { pressed: this.pressed, rssAnonBytes: this.rssAnon, memoryHighBytes: this.options?.memoryHighBytes, refused: this.refused };
  }

  /** Takes one reading and presses or releases. */
  sample(): void {
    const o = this.options;
    if (o === undefined) return;
    this.rssAnon = o.readRssAnon();
    if (this.rssAnon === undefined) return;
    const now = o.now();
    if (this.rssAnon < RELEASE_SHARE * o.memoryHighBytes) this.pressFloor = 0;
    if (this.pressed && this.rssAnon >= RELEASE_SHARE * o.memoryHighBytes && now - this.pressedSince >= MAX_PRESSED_MS) {
      this.setPressed(false);
      this.pressFloor = this.rssAnon + PRESS_MARGIN_SHARE * o.memoryHighBytes;
      this.lastLogAt = -Infinity;
      this.note('warn', { rssAnonBytes: this.rssAnon, memoryHighBytes: o.memoryHighBytes, heldMs: now - this.pressedSince }, `memory pressure held ${Math.round((now - this.pressedSince) / 1000)} s without RssAnon coming back (memory the allocator keeps, not traffic): reading sockets and accepting connections again, pressing next above ${(this.pressFloor / 2 ** 20).toFixed(1)} MiB`);
      return;
    }
    if (!this.pressed && this.rssAnon >= Math.max(PRESS_SHARE * o.memoryHighBytes, this.pressFloor)) {
      this.pressedSince = now;
      this.setPressed(true);
      this.pressLogged = this.note('warn', { rssAnonBytes: this.rssAnon, memoryHighBytes: o.memoryHighBytes, sockets: this.sockets.size }, this.pressure()!);
    } else if (this.pressed && this.rssAnon < RELEASE_SHARE * o.memoryHighBytes) {
      this.setPressed(false);
      // The end of a pressure whose start was logged is logged too, whatever the rate.
      if (this.pressLogged) this.lastLogAt = -Infinity;
      this.note('info', { rssAnonBytes: this.rssAnon, memoryHighBytes: o.memoryHighBytes, refused: this.refused }, 'memory pressure over: reading sockets and accepting connections again');
    }
  }

  /**
   * The listeners' accept hook: while pressed, destroys the new socket and answers false;
   * otherwise keeps it, so that its reads stop whenever the guard is pressed, and answers true.
   * Sockets admitted before `start()` are not kept (main.ts starts it before any listener).
   */
  admit(socket: Duplex): boolean {
    // Not started (a listener outside startWeir: tests, tools): nothing to guard.
    if (this.options === undefined) return true;
    if (this.pressed) {
      this.refused++;
      socket.destroy();
      this.note('warn', { refused: this.refused }, `connection refused: ${this.pressure() ?? 'memory pressure'}`);
      return false;
    }
    const held = holdable(socket, () => this.pressed);
    this.sockets.add(held);
    socket.once('close', () => this.sockets.delete(held));
    return true;
  }

  private setPressed(pressed: boolean): void {
    if (pressed === this.pressed) return;
    this.pressed = pressed;
    for (const s of this.sockets) {
      if (pressed) s.hold();
      else s.release();
    }
    this.emit('change', pressed);
  }

  /** Logs at most one line per LOG_EVERY_MS (a line says how many it stands for); true if logged. */
  private note(level: 'warn' | 'info', details: Record<string, unknown>, msg: string): boolean {
    const o = this.options;
    if (o === undefined) return false;
    const now = o.now();
    if (now - this.lastLogAt < LOG_EVERY_MS) {
      this.unlogged++;
      return false;
    }
    o.log[level]({ ...details, ...(this.unlogged > 0 ? { notLoggedSinceLastLine: this.unlogged } : {}) }, msg);
    this.lastLogAt = now;
    this.unlogged = 0;
    return true;
  }
}

/**
 * Makes `socket` unread while `pressed()` holds, whichever way its owner reads it: `read()`
 * answers null (aedes reads in paused mode), and a flowing socket (the Kafka listener's) is
 * paused, with any `resume()` its owner asks for meanwhile put off until release. Node then
 * stops reading from the kernel once the socket's buffer is full, and TCP pushes back on the
 * client. A socket its owner is closing (`end()` called) is read as usual, so its FIN is seen.
 */
function holdable(socket: Duplex, pressed: () => boolean): Held {
  const read = socket.read.bind(socket);
  const pause = socket.pause.bind(socket);
  const resume = socket.resume.bind(socket);
  const held = () => pressed() && !socket.writableEnded && !socket.destroyed;
  /** The owner wants the socket flowing once released. */
  let resumeOnRelease = false;
  socket.read = (size?: number) => (held() ? null : (read(size) as unknown));
  socket.pause = () => {
    resumeOnRelease = false;
    return pause();
  };
  socket.resume = () => {
    if (!held()) return resume();
    resumeOnRelease = true;
    return socket;
  };
  return {
    hold() {
      if (socket.readableFlowing !== true) return;
      pause();
      resumeOnRelease = true;
    },
    release() {
      if (resumeOnRelease) {
        resumeOnRelease = false;
        resume();
      } else if (socket.readableFlowing !== true && socket.readableLength > 0) {
        // A paused-mode reader saw null and waits for the next 'readable': give it one.
        socket.emit('readable');
      }
    },
  };
}

export const memoryGuard = new MemoryGuard();
