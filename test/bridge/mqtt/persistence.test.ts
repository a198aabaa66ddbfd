/**
 * The LMDB persistence on its own, over a real store: everything it keeps comes back after the
 * store is closed and reopened, and its caps drop what their documented policy says. Then the
 * `mqtt.persistence` switch through the real bridge.
 */
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { LmdbPersistence } from '../../../bridge/mqtt/persistence/index.js';
import type { LogStore } from '../../../src/store/types.js';
import { startTestBridge } from '../../helpers/mqtt-bridge.js';
import { openTestStore, silentLogger, tempDir } from '../../helpers/store.js';

async function collect(stream: AsyncIterable<unknown>): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const item of stream) out.push(item as Record<string, unknown>);
  return out;
}

const broker = { id: 'broker-a' };
const caps = { maxRetained: 2, maxPerClient: 3, maxTotal: 5, maxBytes: 1 << 30 };

describe('LMDB persistence', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function open(dir: string): Promise<{ store: LogStore; p: LmdbPersistence }> {
    const store = await openTestStore(dir);
    const p = new LmdbPersistence(store.kv('mqtt'), caps, silentLogger);
    await p.setup(broker);
    return { store, p };
  }

  it('answers "no offline subscriber" and "nothing to enqueue" at once, and through a promise once someone subscribes', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const { store, p } = await open(t.dir);
    cleanups.push(() => store.close());
    const answered: string[] = [];
    // aedes.js enqueueOffline: subscriptionsByTopic(topic).then(...), then outgoingEnqueueCombi(subs, packet).then(...)
    p.subscriptionsByTopic('a/b').then((subs) => {
      answered.push(`subs ${subs.length}`);
      p.outgoingEnqueueCombi(subs, { cmd: 'publish', topic: 'a/b', payload: Buffer.from('m'), qos: 1 }).then(() => answered.push('enqueued'));
    });
    expect(answered).toEqual(['subs 0', 'enqueued']); // before anything else ran

    await p.addSubscriptions({ id: 'dash' }, [{ topic: 'a/+', qos: 1 }]);
    const pending = p.subscriptionsByTopic('a/b');
    expect(pending).toBeInstanceOf(Promise);
    expect((await pending).map((s) => s.clientId)).toEqual(['dash']);
    expect(await p.subscriptionsByTopic('other')).toEqual([]);
  });

  it('restores retained messages, subscriptions, queues with packet ids and PUBRELs, QoS 2 ids and wills', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    let { store, p } = await open(t.dir);
    const client = { id: 'c'.repeat(3000) }; // longer than an LMDB key: hashed in keys
    await p.addSubscriptions({ id: 'nul\u0000id' }, [{ topic: 'x/\u0000', qos: 1 }]); // U+0000 splits ordered-binary keys: hashed too
    await p.storeRetained({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('r1'), qos: 1, retain: true });
    await p.addSubscriptions(client, [{ topic: 'a/#', qos: 1 }, { topic: 'q0', qos: 0 }]);
    await p.outgoingEnqueueCombi([{ clientId: client.id }], { cmd: 'publish', topic: 'a/x', payload: Buffer.from('m1'), qos: 1, brokerId: 'b0', brokerCounter: 1 });
    await p.outgoingEnqueueCombi([{ clientId: client.id }], { cmd: 'publish', topic: 'a/y', payload: Buffer.from('m2'), qos: 2, brokerId: 'b0', brokerCounter: 2 });
    await p.outgoingUpdate(client, { brokerId: 'b0', brokerCounter: 1, messageId: 7 });
    await p.outgoingUpdate(client, { brokerId: 'b0', brokerCounter: 2, messageId: 8 });
    await p.outgoingUpdate(client, { cmd: 'pubrel', messageId: 8 });
    await p.incomingStorePacket(client, { cmd: 'publish', topic: 'in', payload: Buffer.from('q2'), qos: 2, messageId: 99 });
    await p.putWill(client, { cmd: 'publish', topic: 'will', payload: Buffer.from('bye'), qos: 1, retain: false });
    await store.close(); // background writes are flushed by close

    ({ store, p } = await open(t.dir));
    cleanups.push(() => store.close());
    expect(p.stats()).toMatchObject({ retained: 1, sessions: 2, subscriptions: 2, queued: 2 });
    expect(await p.subscriptionsByClient({ id: 'nul\u0000id' })).toEqual([expect.objectContaining({ topic: 'x/\u0000', qos: 1 })]);
    const retained = await collect(p.createRetainedStreamCombi(['a/+']));
    expect(retained.map((r) => [r['topic'], String(r['payload'])])).toEqual([['a/b', 'r1']]);
    expect(await p.subscriptionsByClient(client)).toEqual([
      { topic: 'a/#', qos: 1, rh: undefined, rap: undefined, nl: undefined },
      { topic: 'q0', qos: 0, rh: undefined, rap: undefined, nl: undefined },
    ]);
    expect((await p.subscriptionsByTopic('a/z')).map((s) => s.clientId)).toEqual([client.id]);
    await p.cleanSubscriptions({ id: 'nul\u0000id' });
    const queued = await collect(p.outgoingStream(client));
    expect(queued).toEqual([
      expect.objectContaining({ topic: 'a/x', messageId: 7, brokerCounter: 1 }),
      { cmd: 'pubrel', messageId: 8 },
    ]);
    expect(Buffer.isBuffer(queued[0]?.['payload'])).toBe(true);
    expect((await p.incomingGetPacket(client, { messageId: 99 }))['topic']).toBe('in');
    // A new broker id after the restart: the old process's will is due.
    const wills = await collect(p.streamWill({ [broker.id]: {} }));
    expect(wills).toEqual([]);
    expect((await collect(p.streamWill({ 'broker-new': {} }))).map((w) => w['topic'])).toEqual(['will']);
    expect((await p.outgoingClearMessageId(client, { messageId: 7 }))?.['topic']).toBe('a/x');
    await p.incomingDelPacket(client, { messageId: 99 });
    await expect(p.incomingGetPacket(client, { messageId: 99 })).rejects.toThrow('no such packet');
  });

  it('caps retained topics (new topics not retained) and queues (oldest dropped, per client and in total)', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const { store, p } = await open(t.dir);
    cleanups.push(() => store.close());
    for (const topic of ['r1', 'r2', 'r3']) await p.storeRetained({ topic, payload: Buffer.from(topic), retain: true });
    await p.storeRetained({ topic: 'r1', payload: Buffer.from('r1-new'), retain: true }); // replacing is always allowed
    const retained = await collect(p.createRetainedStream('#'));
    expect(retained.map((r) => String(r['payload'])).sort()).toEqual(['r1-new', 'r2']);
    expect(p.stats().retainRefused).toBe(1);

    const publish = (n: number) => ({ cmd: 'publish', topic: 't', payload: Buffer.from(`m${n}`), qos: 1, brokerId: 'b', brokerCounter: n });
    for (let n = 1; n <= 5; n++) await p.outgoingEnqueue({ clientId: 'a' }, publish(n));
    expect((await collect(p.outgoingStream({ id: 'a' }))).map((q) => String(q['payload']))).toEqual(['m3', 'm4', 'm5']);
    for (let n = 6; n <= 8; n++) await p.outgoingEnqueue({ clientId: 'b' }, publish(n));
    // m8 would make 6 in total, past 5: the longest queue ('a', 3) loses its oldest.
    expect((await collect(p.outgoingStream({ id: 'a' }))).map((q) => String(q['payload']))).toEqual(['m4', 'm5']);
    expect((await collect(p.outgoingStream({ id: 'b' }))).map((q) => String(q['payload']))).toEqual(['m6', 'm7', 'm8']);
    expect(p.stats()).toMatchObject({ queued: 5, queueDropped: 3 });
  });

  it('stores a payload queued for 20 sessions once, keeps it while one still holds it, and forgets it with the last', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    let { store, p } = await open(t.dir);
    const wide = new LmdbPersistence(store.kv('mqtt'), { ...caps, maxPerClient: 10, maxTotal: 1000 }, silentLogger);
    await wide.setup(broker);
    const sessions = Array.from({ length: 20 }, (_, i) => ({ clientId: `s${i}` }));
    const payload = Buffer.alloc(256 * 1024, 7);
    // aedes: one enqueue with every offline subscriber, and one per connected persistent client
    await wide.outgoingEnqueueCombi(sessions.slice(0, 19), { cmd: 'publish', topic: 'pq/x', payload, qos: 1, brokerId: 'b', brokerCounter: 1 });
    await wide.outgoingEnqueue(sessions[19]!, { cmd: 'publish', topic: 'pq/x', payload, qos: 1, brokerId: 'b', brokerCounter: 1 });
    const payloadsOnDisk = (): number => [...store.kv('mqtt').getRange(['p'])].length;
    expect(wide.stats()).toMatchObject({ queued: 20, queuedBytes: 256 * 1024 });
    expect(payloadsOnDisk()).toBe(1);

    // Each session reads it whole; a PUBACK of 19 of them leaves it for the 20th.
    for (const { clientId } of sessions) {
      const [queued] = await collect(wide.outgoingStream({ id: clientId }));
      expect(Buffer.compare(queued!['payload'] as Buffer, payload)).toBe(0);
      await wide.outgoingUpdate({ id: clientId }, { ...queued, messageId: 42 });
    }
    for (const { clientId } of sessions.slice(0, 19)) expect(await wide.outgoingClearMessageId({ id: clientId }, { messageId: 42 })).toMatchObject({ topic: 'pq/x' });
    expect(wide.stats()).toMatchObject({ queued: 1, queuedBytes: 256 * 1024 });

    // ... across a restart too
    await store.close();
    ({ store, p } = await open(t.dir));
    cleanups.push(() => store.close());
    expect(p.stats()).toMatchObject({ queued: 1, queuedBytes: 256 * 1024 });
    const [left] = await collect(p.outgoingStream({ id: 's19' }));
    expect(Buffer.compare(left!['payload'] as Buffer, payload)).toBe(0);
    expect(left!['messageId']).toBe(42);
    expect(await p.outgoingClearMessageId({ id: 's19' }, { messageId: 42 })).toMatchObject({ topic: 'pq/x' });
    expect(p.stats()).toMatchObject({ queued: 0, queuedBytes: 0 });
    await expect.poll(payloadsOnDisk).toBe(0);
  });

  it('keeps a payload whose only other reference a cap drops while the message is queued again', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const store = await openTestStore(t.dir);
    cleanups.push(() => store.close());
    const p = new LmdbPersistence(store.kv('mqtt'), { ...caps, maxPerClient: 1 }, silentLogger);
    await p.setup(broker);
    const message = { cmd: 'publish', topic: 't', payload: Buffer.from('same'), qos: 1, brokerId: 'b', brokerCounter: 9 };
    await p.outgoingEnqueue({ clientId: 'a' }, message);
    await p.outgoingEnqueue({ clientId: 'a' }, message); // the queue of 1 drops the first copy
    expect((await collect(p.outgoingStream({ id: 'a' }))).map((q) => String(q['payload']))).toEqual(['same']);
    expect(p.stats()).toMatchObject({ queued: 1, queuedBytes: 4, queueDropped: 1 });
  });

  it('past maxBytes a new message is not queued for offline sessions (counted); a connected one still gets it', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const store = await openTestStore(t.dir);
    cleanups.push(() => store.close());
    const p = new LmdbPersistence(store.kv('mqtt'), { ...caps, maxBytes: 1000 }, silentLogger);
    await p.setup({ id: 'broker-a', clients: { online: {} } });
    const publish = (n: number) => ({ cmd: 'publish', topic: 't', payload: Buffer.alloc(600, n), qos: 1, brokerId: 'b', brokerCounter: n });
    await p.outgoingEnqueueCombi([{ clientId: 'away' }, { clientId: 'online' }], publish(1));
    await p.outgoingEnqueueCombi([{ clientId: 'away' }, { clientId: 'online' }], publish(2)); // 1200 bytes > 1000
    expect((await collect(p.outgoingStream({ id: 'away' }))).map((q) => (q['payload'] as Buffer)[0])).toEqual([1]);
    expect((await collect(p.outgoingStream({ id: 'online' }))).map((q) => (q['payload'] as Buffer)[0])).toEqual([1, 2]);
    expect(p.stats()).toMatchObject({ queued: 3, queuedBytes: 1200, queueDroppedBytesCap: 1 });
  });

  it('never lets two queued messages of a session hold one packet id: a PUBACK forgets the message it acknowledges', async () => {
    // A takeover [MQTT-3.1.4-2]: the old connection gave the first message packet id 5 and never
    // acknowledged it; the new connection's client object counts ids on its own and gives 5 to
    // the third, delivered live before the replay reaches the first. Its PUBACK must forget the
    // third, not the first (which was then lost for good: the replay found it gone).
    const t = tempDir();
    cleanups.push(t.cleanup);
    const { store, p } = await open(t.dir);
    cleanups.push(() => store.close());
    const client = { id: 'taken-over' };
    for (const n of [1, 2, 3]) {
      await p.outgoingEnqueueCombi([{ clientId: client.id }], { cmd: 'publish', topic: 'a', payload: Buffer.from(`m${n}`), qos: 1, brokerId: 'b0', brokerCounter: n });
    }
    await p.outgoingUpdate(client, { brokerId: 'b0', brokerCounter: 1, messageId: 5 });
    const live = { brokerId: 'b0', brokerCounter: 3, messageId: 5 };
    await p.outgoingUpdate(client, live);
    expect(live.messageId).not.toBe(5); // the id aedes writes is the one the entry holds
    expect(String((await p.outgoingClearMessageId(client, { messageId: live.messageId }))?.['payload'])).toBe('m3');
    const left = await collect(p.outgoingStream(client));
    expect(left.map((m) => [String(m['payload']), m['messageId']])).toEqual([['m1', 5], ['m2', undefined]]);
  });
});

describe('mqtt.persistence switch', () => {
  it('lmdb (the default) keeps a retained message across a bridge restart; memory does not', async () => {
    const retainedAfterRestart = async (env: Record<string, string>): Promise<string[]> => {
      const t = tempDir();
      try {
        let running = await startTestBridge(t.dir, silentLogger, env);
        const pub = await connectAsync(running.url, { reconnectPeriod: 0 });
        await pub.publishAsync('cfg/a', 'kept?', { qos: 1, retain: true });
        await pub.endAsync();
        await running.close();
        running = await startTestBridge(t.dir, silentLogger, env);
        try {
          const sub = await connectAsync(running.url, { reconnectPeriod: 0 });
          const got: string[] = [];
          sub.on('message', (_topic, payload) => got.push(payload.toString()));
          await sub.subscribeAsync('cfg/#', { qos: 1 });
          // Retained messages go out right after SUBACK; a live marker after them bounds the wait.
          await sub.publishAsync('cfg/marker', 'marker', { qos: 1 });
          while (!got.includes('marker')) await new Promise((resolve) => setTimeout(resolve, 10));
          await sub.endAsync();
          return got.filter((g) => g !== 'marker');
        } finally {
          await running.close();
        }
      } finally {
        t.cleanup();
      }
    };
    expect(await retainedAfterRestart({})).toEqual(['kept?']);
    expect(await retainedAfterRestart({ WEIR_MQTT__PERSISTENCE: 'memory' })).toEqual([]);
  });
});
