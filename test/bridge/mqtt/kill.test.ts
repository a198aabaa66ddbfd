/**
 * PUBACKed ⇒ on disk, under SIGKILL. A child runs Weir's store and MQTT bridge; 50 QoS 1
 * publishers, each with a few messages in flight, record every PUBACK they receive; we kill the
 * child mid-stream, reopen the store here, and check every acknowledged message is in the log,
 * byte for byte, in the partition its key hashes to. Then again, ten times over the same data.
 * The second test keeps its publishers across kills: they reconnect to the restarted broker and
 * resend what was unacknowledged, so duplicates appear, and must all be such retransmissions.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { connectAsync, type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { partitionForKey } from '../../../src/kafka/protocol/murmur2.js';
import { CRASH_PARTITIONS } from '../../helpers/mqtt-crash-broker.js';
import { readAll } from '../../helpers/mqtt-bridge.js';
import { openTestStore, tempDir } from '../../helpers/store.js';

const CHILD = join(import.meta.dirname, '../../../dist/test/helpers/mqtt-crash-broker.js');
const PUBLISHERS = 50;
const IN_FLIGHT = 4;
const KILLS = 10;
const SITES = 5;

interface Ack {
  topic: string;
  key: string;
  value: Buffer;
}

function startChild(dir: string, listenPort = 0): { port: Promise<number>; exited: Promise<void>; kill(): void } {
  const child = spawn(process.execPath, [CHILD, dir, String(listenPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const port = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^ready (\d+)$/.exec(line);
      if (m !== null) resolve(Number(m[1]));
    });
    void exited.then(() => reject(new Error(`broker child exited before it was ready: ${stderr}`)));
  });
  return { port, exited, kill: () => child.kill('SIGKILL') };
}

/** One publisher: keeps IN_FLIGHT QoS 1 messages outstanding until its connection dies. */
function publish(client: MqttClient, round: number, n: number, acks: Ack[]): void {
  const site = `site${n % SITES}`;
  const device = `r${round}-dev${n}`;
  let seq = 0;
  const next = (): void => {
    if (!client.connected) return;
    const value = Buffer.from(`${device}:${seq++}:${'x'.repeat(n % 40)}\u00e9\u0000`, 'utf8');
    client.publish(`sensors/${site}/${device}/temp`, value, { qos: 1 }, (err) => {
      if (err !== undefined && err !== null) return;
      acks.push({ topic: `sensors.${site}`, key: device, value });
      next();
    });
  };
  for (let i = 0; i < IN_FLIGHT; i++) next();
}

async function round(dir: string, n: number, acks: Ack[]): Promise<number> {
  const child = startChild(dir);
  const port = await child.port;
  const clients = await Promise.all(
    Array.from({ length: PUBLISHERS }, (_, i) => connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `r${n}c${i}`, reconnectPeriod: 0 })),
  );
  const before = acks.length;
  clients.forEach((c, i) => publish(c, n, i, acks));
  await new Promise((resolve) => setTimeout(resolve, 150 + Math.floor(Math.random() * 350)));
  child.kill();
  await child.exited;
  await Promise.all(clients.map((c) => c.endAsync(true)));
  return acks.length - before;
}

async function verify(dir: string, acks: Ack[]): Promise<{ records: number; duplicates: number; duplicated: Set<string> }> {
  const store = await openTestStore(dir);
  try {
    const stored = new Set<string>();
    let records = 0;
    let duplicates = 0;
    const duplicated = new Set<string>();
    for (const topic of store.listTopics()) {
      for (const r of readAll(store, topic)) {
        const id = `${topic}|${r.partition}|${r.key?.toString() ?? ''}|${r.value?.toString('hex') ?? ''}`;
        if (stored.has(id)) {
          duplicates++;
          duplicated.add(r.value?.toString('hex') ?? '');
        }
        stored.add(id);
        records++;
      }
    }
    const missing = acks.filter((a) => {
      const partition = partitionForKey(Buffer.from(a.key), CRASH_PARTITIONS);
      return !stored.has(`${a.topic}|${partition}|${a.key}|${a.value.toString('hex')}`);
    });
    if (missing.length > 0) {
      const a = missing[0]!;
      const hex = a.value.toString('hex');
      console.log('DEBUG', a.key, partitionForKey(Buffer.from(a.key), CRASH_PARTITIONS), [...stored].filter((s) => s.endsWith(hex) || s.includes(a.key)).slice(0, 3));
    }
    expect(missing.slice(0, 5).map((a) => `${a.topic} ${a.key} ${JSON.stringify(a.value.toString())}`), `${missing.length} of ${acks.length} missing; ${records} records`).toEqual([]);
    return { records, duplicates, duplicated };
  } finally {
    await store.close();
  }
}

describe('MQTT QoS 1 under SIGKILL', () => {
  it(`every PUBACKed message is in the log after each of ${KILLS} kills`, async () => {
    expect(existsSync(CHILD), `${CHILD} is missing: run "npm run build" first (npm test does)`).toBe(true);
    const { dir, cleanup } = tempDir('weir-mqtt-kill-');
    const started = Date.now();
    try {
      const acks: Ack[] = [];
      let records = 0;
      let duplicates = 0;
      for (let n = 0; n < KILLS; n++) {
        const acked = await round(dir, n, acks);
        expect(acked, `round ${n} acknowledged nothing`).toBeGreaterThan(0);
        ({ records, duplicates } = await verify(dir, acks));
      }
      // No publisher retransmits across rounds (fresh clients each time), so no duplicates either.
      expect(duplicates).toBe(0);
      console.log(
        `mqtt kill test: ${KILLS} kills, ${PUBLISHERS} publishers, ${acks.length} PUBACKed messages verified, ` +
          `${records} records on disk (${records - acks.length} unacknowledged but stored), ${duplicates} duplicates, ${Date.now() - started} ms`,
      );
    } finally {
      cleanup();
    }
  }, 120_000);

  it(`publishers that reconnect and retransmit across ${KILLS} kills: nothing PUBACKed is lost, duplicates only from retransmission`, async () => {
    const { dir, cleanup } = tempDir('weir-mqtt-kill-');
    const started = Date.now();
    // One port for every restart, so MQTT.js reconnects and resends its unacknowledged
    // messages [MQTT-4.4.0-1] to the next broker process, as a sensor would.
    const port = await freePort();
    let kills = 0;
    const acks: Ack[] = [];
    /** Values published and not yet acknowledged: MQTT.js resends these after a kill. */
    const inFlight = new Set<string>();
    /** Values that were in flight at some kill, so the next broker may get them again. */
    const retransmitted = new Set<string>();
    let child = startChild(dir, port);
    await child.port;
    const clients = await Promise.all(Array.from({ length: PUBLISHERS }, (_, i) =>
      connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `keep${i}`, reconnectPeriod: 100, connectTimeout: 5000 })));
    let stopped = false;
    clients.forEach((client, n) => {
      const device = `keep-dev${n}`;
      let seq = 0;
      const next = (): void => {
        if (stopped) return;
        const value = Buffer.from(`${device}:${seq++}`);
        const hex = value.toString('hex');
        inFlight.add(hex);
        client.publish(`sensors/site${n % SITES}/${device}/t`, value, { qos: 1 }, (err) => {
          if (err !== undefined && err !== null) return;
          inFlight.delete(hex);
          acks.push({ topic: `sensors.site${n % SITES}`, key: device, value });
          next();
        });
      };
      for (let i = 0; i < IN_FLIGHT; i++) next();
    });
    try {
      let result = { records: 0, duplicates: 0, duplicated: new Set<string>() };
      for (let n = 0; n < KILLS; n++) {
        const before = acks.length;
        await expect.poll(() => acks.length, { timeout: 10_000 }).toBeGreaterThan(before + 50);
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 300)));
        // Whatever is unacknowledged now may already be stored, and will be sent again.
        for (const v of inFlight) retransmitted.add(v);
        child.kill();
        await child.exited;
        kills++;
        result = await verify(dir, acks);
        child = startChild(dir, port);
        await child.port;
      }
      // A record stored twice is a message that was in flight at a kill (its PUBACK, if any, was
      // lost) and that the client sent again to the next broker: allowed, and only for those.
      // (Such a message may still be unacknowledged at the end, if a later kill caught it too.)
      expect([...result.duplicated].filter((v) => !retransmitted.has(v))).toEqual([]);
      console.log(
        `mqtt kill test (reconnecting publishers): ${kills} kills, ${acks.length} PUBACKed messages verified, ` +
          `${retransmitted.size} in flight at a kill, ${result.duplicates} duplicates on disk, ${Date.now() - started} ms`,
      );
    } finally {
      stopped = true;
      child.kill();
      await child.exited;
      await Promise.all(clients.map((c) => c.endAsync(true)));
      cleanup();
    }
  }, 120_000);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
