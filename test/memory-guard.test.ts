/**
 * The memory guard with an injected RssAnon reader and clock: when it presses and releases
 * (hysteresis), what it logs (rate-limited), and how it holds the sockets it admitted, whether
 * their owner reads them flowing (the Kafka listener) or with read() (aedes).
 */
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { MAX_PRESSED_MS, MemoryGuard } from '../src/memory-guard.js';

const MiB = 2 ** 20;

function setup() {
  let rss = 50 * MiB;
  let now = 0;
  const lines: { level: number; msg: string; notLoggedSinceLastLine?: number }[] = [];
  const guard = new MemoryGuard();
  const changes: boolean[] = [];
  guard.on('change', (pressed) => changes.push(pressed));
  guard.start({
    memoryHighBytes: 100 * MiB,
    intervalMs: 60_000,
    readRssAnon: () => rss,
    now: () => now,
    log: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) }),
  });
  return {
    guard,
    lines,
    changes,
    at(mib: number) {
      rss = mib * MiB;
      guard.sample();
    },
    advance(ms: number) {
      now += ms;
    },
  };
}

/** A connected pair: `server` is what the listener accepted, `client` the peer. */
async function socketPair(): Promise<{ server: net.Socket; client: net.Socket; close(): void }> {
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection') as Promise<[net.Socket]>;
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  const [server] = await accepted;
  await once(client, 'connect').catch(() => undefined);
  return {
    server,
    client,
    close() {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('memory guard', () => {
  let t: ReturnType<typeof setup>;
  beforeEach(() => {
    t = setup();
  });
  afterEach(() => t.guard.stop());

  it('presses at 90% of memory high and releases only under 80%', () => {
    t.at(89);
    expect(t.guard.isPressed()).toBe(false);
    t.at(90);
    expect(t.guard.isPressed()).toBe(true);
    expect(t.guard.pressure()).toMatch(/^memory pressure: RssAnon 90\.0 MiB passed 90% of device\.memory_high_bytes \(100\.0 MiB\).* under 80\.0 MiB$/);
    t.at(81);
    expect(t.guard.isPressed()).toBe(true);
    t.at(79);
    expect(t.guard.isPressed()).toBe(false);
    expect(t.guard.pressure()).toBeUndefined();
    expect(t.changes).toEqual([true, false]);
    expect(t.lines.map((l) => [l.level, l.msg.slice(0, 28)])).toEqual([[40, 'memory pressure: RssAnon 90.'], [30, 'memory pressure over: readin']]);
  });

  it('reads again after MAX_PRESSED_MS when RssAnon does not come back, and presses next only above what it saw', () => {
    t.at(95);
    expect(t.guard.isPressed()).toBe(true);
    t.advance(MAX_PRESSED_MS - 1);
    t.at(94);
    expect(t.guard.isPressed()).toBe(true);
    t.advance(1);
    t.at(94);
    expect(t.guard.isPressed()).toBe(false);
    expect(t.lines.at(-1)!.msg).toMatch(/^memory pressure held 60 s without RssAnon coming back .* pressing next above 99\.0 MiB$/);
    t.at(98);
    expect(t.guard.isPressed()).toBe(false);
    t.at(99);
    expect(t.guard.isPressed()).toBe(true);
    t.at(79);
    expect(t.guard.isPressed()).toBe(false);
    t.at(90);
    expect(t.guard.isPressed()).toBe(true);
  });

  it('refuses connections while pressed, logging one line per 10 s with the count it stands for', async () => {
    const pair = await socketPair();
    try {
      t.at(95);
      const refusedLines = () => t.lines.filter((l) => l.msg.startsWith('connection refused'));
      for (let i = 0; i < 5; i++) {
        t.advance(3_000);
        const s = new net.Socket();
        expect(t.guard.admit(s)).toBe(false);
        expect(s.destroyed).toBe(true);
      }
      expect(t.guard.figures().refused).toBe(5);
      // The press line at 0 s; refusals at 3, 6, 9 s fall in its 10 s; 12 s is logged with them.
      expect(refusedLines().map((l) => l.notLoggedSinceLastLine)).toEqual([3]);
      t.at(70);
      expect(t.guard.admit(pair.server)).toBe(true);
      expect(pair.server.destroyed).toBe(false);
    } finally {
      pair.close();
    }
  });

  it('leaves sockets alone until started', async () => {
    const pair = await socketPair();
    try {
      const idle = new MemoryGuard();
      const { read, pause, resume } = pair.server;
      expect(idle.admit(pair.server)).toBe(true);
      expect([pair.server.read, pair.server.pause, pair.server.resume]).toEqual([read, pause, resume]);
      t.guard.admit(pair.server);
      expect(pair.server.read).not.toBe(read);
    } finally {
      pair.close();
    }
  });

  it('stops a flowing socket and puts off its owner\'s resume() until release', async () => {
    const pair = await socketPair();
    try {
      expect(t.guard.admit(pair.server)).toBe(true);
      const got: string[] = [];
      pair.server.on('data', (d: Buffer) => got.push(d.toString()));
      pair.client.write('a');
      await tick();
      expect(got).toEqual(['a']);
      t.at(95);
      pair.client.write('b');
      await tick();
      pair.server.resume(); // what the Kafka connection does when a request is answered
      await tick();
      expect(got).toEqual(['a']);
      t.at(50);
      await tick();
      expect(got.join('')).toBe('ab');
    } finally {
      pair.close();
    }
  });

  it("keeps an owner's pause() across a release", async () => {
    const pair = await socketPair();
    try {
      t.guard.admit(pair.server);
      const got: string[] = [];
      pair.server.on('data', (d: Buffer) => got.push(d.toString()));
      t.at(95);
      pair.server.pause(); // the Kafka connection at its in-flight cap
      pair.client.write('x');
      t.at(50);
      await tick();
      expect(got).toEqual([]);
      pair.server.resume();
      await tick();
      expect(got).toEqual(['x']);
    } finally {
      pair.close();
    }
  });

  it('answers read() with null while pressed and wakes a paused-mode reader on release', async () => {
    const pair = await socketPair();
    try {
      t.guard.admit(pair.server);
      const got: string[] = [];
      // aedes's way: read() on every 'readable' until null.
      pair.server.on('readable', () => {
        for (let chunk = pair.server.read() as Buffer | null; chunk !== null; chunk = pair.server.read() as Buffer | null) got.push(chunk.toString());
      });
      pair.client.write('1');
      await tick();
      expect(got).toEqual(['1']);
      t.at(95);
      pair.client.write('2');
      await tick();
      expect(got).toEqual(['1']);
      t.at(50);
      await tick();
      expect(got).toEqual(['1', '2']);
    } finally {
      pair.close();
    }
  });
});
