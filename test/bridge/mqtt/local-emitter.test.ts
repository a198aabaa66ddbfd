/**
 * The message bus skips topic matching only while no subscription can match: delivery to local
 * subscribers is unchanged as they come and go, and the skip is really taken (Qlobber's match,
 * which mqemitter walks for every emit, is not called).
 */
import { connectAsync } from 'mqtt';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalEmitter, type ListenerMute } from '../../../bridge/mqtt/local-emitter.js';
import { startTestBridge } from '../../helpers/mqtt-bridge.js';
import { silentLogger, tempDir } from '../../helpers/store.js';

const { Qlobber } = createRequire(import.meta.url)('qlobber') as { Qlobber: { prototype: { match: (topic: string) => unknown } } };

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** Emits and reports the listeners called and whether the callback ran before `emit` returned. */
function emitTo(bus: LocalEmitter, topic: string): { synchronous: boolean; error: Error | undefined } {
  let synchronous = false;
  let error: Error | undefined;
  bus.emit({ topic }, (err) => {
    synchronous = true;
    error = err;
  });
  return { synchronous, error };
}

function removed(bus: LocalEmitter, topic: string, listener: (m: unknown, done: () => void) => void): Promise<void> {
  return new Promise((resolve) => bus.removeListener(topic, listener, resolve));
}

describe('LocalEmitter', () => {
  it('answers an emit at once without matching while only $-filters are subscribed', () => {
    const match = vi.spyOn(Qlobber.prototype, 'match');
    const bus = new LocalEmitter(100);
    const sys = vi.fn((_m: unknown, done: () => void) => done());
    bus.on('$SYS/+/heartbeat', sys); // what aedes subscribes to at start

    expect(emitTo(bus, 'sensors/a/temp')).toEqual({ synchronous: true, error: undefined });
    expect(match).not.toHaveBeenCalled();

    emitTo(bus, '$SYS/x/heartbeat'); // a $-topic still goes through the matcher
    expect(match).toHaveBeenCalledTimes(1);
    expect(sys).toHaveBeenCalledTimes(1);
  });

  it('delivers to plain subscriptions, and stops matching again once the last one is removed', async () => {
    const match = vi.spyOn(Qlobber.prototype, 'match');
    const bus = new LocalEmitter(100);
    const all = vi.fn((_m: unknown, done: () => void) => done());
    const oneLevel = vi.fn((_m: unknown, done: () => void) => done());
    bus.on('#', all);
    bus.on('+/b', oneLevel);
    bus.on('+/b', oneLevel); // mqemitter keeps both entries: one message, two calls
    expect(bus.plainSubscriptions).toBe(3);

    emitTo(bus, 'a/b');
    expect(all).toHaveBeenCalledTimes(1);
    expect(oneLevel).toHaveBeenCalledTimes(2);

    await removed(bus, '#', all);
    await removed(bus, '+/b', oneLevel);
    expect(bus.plainSubscriptions).toBe(1); // one '+/b' entry is left
    emitTo(bus, 'a/b');
    expect(oneLevel).toHaveBeenCalledTimes(3);

    // Removing what was never added removes nothing, here or in mqemitter.
    await removed(bus, '+/b', all);
    await removed(bus, 'never/subscribed', oneLevel);
    expect(bus.plainSubscriptions).toBe(1);

    await removed(bus, '+/b', oneLevel);
    expect(bus.plainSubscriptions).toBe(0);
    match.mockClear();
    emitTo(bus, 'a/b');
    expect(match).not.toHaveBeenCalled();
    expect(oneLevel).toHaveBeenCalledTimes(3);
  });

  it('counts a removal only once mqemitter has made it: a message emitted meanwhile still matches', async () => {
    const bus = new LocalEmitter(100);
    const listener = vi.fn((_m: unknown, done: () => void) => done());
    bus.on('a/#', listener);
    const gone = removed(bus, 'a/#', listener); // mqemitter removes on the next turn
    emitTo(bus, 'a/b');
    expect(listener).toHaveBeenCalledTimes(1);
    await gone;
    expect(bus.plainSubscriptions).toBe(0);
  });

  it('holds at most `concurrency` messages in delivery, and releases a long queue without recursing', () => {
    const bus = new LocalEmitter(2);
    const held: (() => void)[] = [];
    bus.on('slow/#', (_m: unknown, done: () => void) => held.push(done)); // a subscriber that stopped reading
    let delivered = 0;
    bus.on('#', (_m: unknown, done: () => void) => {
      delivered++;
      done();
    });
    emitTo(bus, 'slow/1');
    emitTo(bus, 'slow/2');
    // 200k messages every listener completes synchronously, queued behind the two held ones
    let completed = 0;
    for (let i = 0; i < 200_000; i++) bus.emit({ topic: 'fast' }, () => completed++);
    expect(delivered).toBe(2);
    expect(completed).toBe(0);
    for (const done of held.splice(0)) done();
    expect(completed).toBe(200_000);
    expect(delivered).toBe(200_002);
  });

  it('fails queued emits on close, as later ones', async () => {
    const bus = new LocalEmitter(1);
    bus.on('#', () => undefined); // never completes
    emitTo(bus, 'a/b');
    let error: Error | undefined;
    bus.emit({ topic: 'a/c' }, (err) => (error = err));
    await new Promise<void>((resolve) => bus.close(resolve));
    expect(error?.message).toMatch(/closed/);
  });

  it('passes over a listener muted during its own call, for what the mute covers, until the mute ends', () => {
    const mute = { active: true, passesOver: vi.fn((m: { topic: string }) => m.topic !== 'kept') };
    let applied: ListenerMute | undefined; // what the budget hook would set, inside a delivery
    const bus = new LocalEmitter(100, {
      awaitListeners: false,
      mutes: {
        takeMute() {
          const taken = applied;
          applied = undefined;
          return taken;
        },
      },
    });
    const slow = vi.fn((m: { topic: string }) => {
      if (m.topic === 'over') applied = mute;
    });
    const other = vi.fn();
    bus.on('#', slow);
    bus.on('#', other);

    expect(emitTo(bus, 'a')).toEqual({ synchronous: true, error: undefined });
    emitTo(bus, 'over'); // this delivery was dropped, and muted the slow listener's connection
    expect(slow).toHaveBeenCalledTimes(2);
    expect(emitTo(bus, 'b')).toEqual({ synchronous: true, error: undefined });
    expect(slow).toHaveBeenCalledTimes(2); // skipped
    expect(other).toHaveBeenCalledTimes(3); // not muted
    expect(mute.passesOver).toHaveBeenLastCalledWith({ topic: 'b' });
    emitTo(bus, 'kept'); // what the mute does not skip still goes to the listener
    expect(slow).toHaveBeenCalledTimes(3);

    mute.active = false; // its socket drained
    emitTo(bus, 'c');
    expect(slow).toHaveBeenCalledTimes(4);
    expect(mute.passesOver).toHaveBeenCalledTimes(2);

    applied = mute; // left by a delivery outside any listener call (a retained message)
    mute.active = true;
    emitTo(bus, 'd');
    emitTo(bus, 'e');
    expect(slow).toHaveBeenCalledTimes(6); // not taken for the listener called next
  });

  it('fails emits after close, as mqemitter does', async () => {
    const bus = new LocalEmitter(100);
    await new Promise<void>((resolve) => bus.close(resolve));
    expect(emitTo(bus, 'a/b').error?.message).toMatch(/closed/);
  });
});

describe('local subscribers through the broker', () => {
  it('get live messages after subscribing, none after unsubscribing, and again after subscribing anew', async () => {
    const { dir, cleanup } = tempDir('weir-mq-');
    const running = await startTestBridge(dir, silentLogger, { WEIR_MQTT__RULES: '[{filter: "t/#", topic: t}]' });
    cleanups.push(cleanup, () => running.close());
    const sensor = await connectAsync(running.url, { reconnectPeriod: 0 });
    const dashboard = await connectAsync(running.url, { reconnectPeriod: 0 });
    cleanups.push(() => sensor.endAsync(true), () => dashboard.endAsync(true));
    const seen: string[] = [];
    dashboard.on('message', (_topic, payload) => seen.push(payload.toString()));

    await sensor.publishAsync('t/1', 'before', { qos: 1 });
    await dashboard.subscribeAsync('t/+', { qos: 1 });
    await sensor.publishAsync('t/1', 'subscribed', { qos: 1 });
    await vi.waitFor(() => expect(seen).toEqual(['subscribed']));
    await dashboard.unsubscribeAsync('t/+');
    await sensor.publishAsync('t/1', 'unsubscribed', { qos: 1 });
    await dashboard.subscribeAsync('#', { qos: 1 });
    await sensor.publishAsync('t/1', 'again', { qos: 1 });
    await vi.waitFor(() => expect(seen).toEqual(['subscribed', 'again']));
  });
});
