/**
 * The hostile field: Weir as the systemd unit runs it (its V8 memory flags and malloc settings),
 * under attacks a gateway meets on its network, each bounded in time and count, with a canary
 * beside it: a QoS 1 MQTT publisher at 150 msg/s and a kcat consumer of its topic. For every
 * attack: Weir survives, the canary keeps going (every PUBACK arrives, p99 and worst case within
 * the bounds below, the consumer receives everything), Weir's peak RssAnon (sampled from /proc
 * every 100 ms) stays under the unit's MemoryHigh, and RssAnon comes back near where it was
 * before the attack within a few seconds. Each attack gets a fresh Weir and data directory; they
 * are numbered as in the table of the issue "The hostile field".
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../bridge/mqtt/passwords.js';
import { ApiKey } from '../../src/kafka/protocol/api-keys.js';
import { Reader } from '../../src/kafka/protocol/reader.js';
import { CRC_OFFSET, ATTRIBUTES_OFFSET, RECORDS_COUNT_OFFSET, RECORDS_OFFSET, encodeRecordBatch } from '../../src/kafka/protocol/record-batch.js';
import { crc32c } from '../../src/kafka/protocol/crc32c.js';
import { CANARY_RULE, CANARY_TOPIC, Canary } from '../helpers/hostile-canary.js';
import { metadataV4, produceErrorCode, produceV3, RawKafka, requestFrame } from '../helpers/hostile-kafka.js';
import { adminGet, MEMORY_HIGH_MB, startHostileWeir, type HostileWeir } from '../helpers/hostile-weir.js';
import { RawClient, packet, publishPacket } from '../helpers/mqtt-raw.js';
import { requireKcat } from '../helpers/required-tools.js';
import { fetchBody } from '../kafka/server/requests.js';

/**
 * Canary PUBACK bounds: ~80 ms p99 with no attack. Its topic is created over Kafka, so it keeps
 * flush.ms=0 (a commit as soon as the writer is free, not MQTT-created topics' 1 s window); the
 * slack is for a 2-core machine running other test files beside this one.
 */
const P99_MS = 1_500;
const MAX_MS = 3_000;
/** Longest stretch without any PUBACK while an attack runs. */
const GAP_MS = 3_000;
/** After the attack, every canary message is acknowledged and consumed within this. */
const CATCH_UP_MS = 10_000;
/**
 * Memory comes back: RssAnon within a third of MemoryHigh (64 MB) of where it was before the
 * attack, within 20 s of its end. Tighter bounds catch V8 and glibc's malloc keeping freed memory
 * (1000 refused connections left ~40 MB that went after 20 s; attacks 3 and 10 came back with
 * 1.6–4.5 MB to spare under a quarter within 10 s), not memory that Weir holds on to.
 */
const RETURN_MB = MEMORY_HIGH_MB / 3;
const RETURN_WITHIN_MS = 20_000;
const CANARY_RATE = 150;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let tmp: string;

interface Figures {
  attack: string;
  seconds: number;
  peakMB: number;
  beforeMB: number;
  backMB: number;
  p99: number;
  max: number;
  sent: number;
  notes: string;
}

/** One Weir with its canary, warmed up. */
class Field {
  private constructor(
    readonly weir: HostileWeir,
    readonly canary: Canary,
    readonly beforeMB: number,
    readonly config: Record<string, Record<string, unknown>>,
  ) {}

  static async open(name: string, config: Record<string, Record<string, unknown>> = {}, auth?: { username: string; password: string }): Promise<Field> {
    const full = { ...config, mqtt: { ...config['mqtt'], rules: [CANARY_RULE] } };
    const weir = await startHostileWeir(join(tmp, name), full);
    try {
      const canary = await Canary.start(weir, { rate: CANARY_RATE, ...auth });
      // A second of canary traffic, through to the consumer, before the attack.
      await canary.caughtUp(10_000, CANARY_RATE);
      return new Field(weir, canary, weir.rss.now(), full);
    } catch (err) {
      await weir.stop();
      throw err;
    }
  }

  /**
   * The verdict on an attack that loaded Weir from `from` to `to`: Weir alive, the canary's
   * PUBACKs and consumer, peak RssAnon, and RssAnon coming back. Logs the figures first.
   */
  async judge(attack: string, from: number, to: number, notes = ''): Promise<Figures> {
    const { weir, canary } = this;
    expect(weir.alive(), `${attack}: Weir exited; last warnings: ${JSON.stringify(weir.warnings.slice(-3))}`).toBe(true);
    expect(canary.failure, attack).toBeUndefined();
    const caughtUp = canary.caughtUp(CATCH_UP_MS).then(
      () => undefined,
      (err: Error) => err.message,
    );
    const back = await weir.rss.under(this.beforeMB + RETURN_MB, RETURN_WITHIN_MS).then(
      (mb) => ({ mb, err: undefined }),
      async (err: Error) => ({ mb: weir.rss.now(), err: `${err.message}; ${await heapFigures(weir)}` }),
    );
    const caughtUpError = await caughtUp;
    const w = canary.window(from, to);
    const f: Figures = {
      attack,
      seconds: Math.round((to - from) / 100) / 10,
      peakMB: Math.round(weir.rss.peakSince(from) * 10) / 10,
      beforeMB: Math.round(this.beforeMB * 10) / 10,
      backMB: Math.round(back.mb * 10) / 10,
      p99: w.p99,
      max: w.max,
      sent: w.sent,
      notes,
    };
    console.log(`hostile ${JSON.stringify({ ...f, longestGapMs: w.longestGap, consumed: w.consumed })}`);
    expect(weir.alive(), `${attack}: Weir exited after the attack`).toBe(true);
    expect(caughtUpError === undefined, `${attack}: ${caughtUpError}`).toBe(true);
    expect(f.peakMB, `${attack}: peak RssAnon vs MemoryHigh`).toBeLessThan(MEMORY_HIGH_MB);
    expect(back.err === undefined, `${attack}: memory comes back: ${back.err}`).toBe(true);
    expect(w.sent, `${attack}: the canary publisher kept its rate`).toBeGreaterThanOrEqual(Math.floor((0.8 * CANARY_RATE * (to - from)) / 1000) - 2);
    expect(w.p99, `${attack}: canary PUBACK p99 (ms)`).toBeLessThan(P99_MS);
    expect(w.max, `${attack}: slowest canary PUBACK (ms)`).toBeLessThan(MAX_MS);
    expect(w.longestGap, `${attack}: longest time without a canary PUBACK (ms)`).toBeLessThan(GAP_MS);
    // The consumer kept receiving: never more than 3 s of the canary's messages behind.
    expect(w.consumed, `${attack}: records the Kafka consumer received during the attack`).toBeGreaterThanOrEqual(w.sent - 3 * CANARY_RATE);
    return f;
  }

  async close(): Promise<void> {
    await this.canary.stop();
    await this.weir.stop();
  }
}

let field: Field | undefined;

/** Where Weir's memory is, from its /metrics (prom-client's process and V8 gauges). */
async function heapFigures(weir: HostileWeir): Promise<string> {
  const text = (await adminGet(weir, '/metrics').catch(() => ({ body: '' }))).body;
  const mb = (name: string) => {
    const m = new RegExp(`^${name} ([0-9.e+]+)`, 'm').exec(text);
    return m === null ? '?' : (Number(m[1]) / 2 ** 20).toFixed(1);
  };
  return `V8 heap ${mb('nodejs_heap_size_used_bytes')} MB used of ${mb('nodejs_heap_size_total_bytes')} MB, external ${mb('nodejs_external_memory_bytes')} MB`;
}

/** Calls `send(i)` `rate` times a second for `ms`, in 10 ms steps; resolves with the count. */
async function atRate(rate: number, ms: number, send: (i: number) => void): Promise<number> {
  const began = Date.now();
  let n = 0;
  while (Date.now() - began < ms) {
    const due = Math.floor(((Date.now() - began) * rate) / 1000);
    while (n < due) send(n++);
    await delay(10);
  }
  return n;
}

/** A plain TCP connection that never reads what it is sent. */
async function deafSocket(port: number): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port });
  s.on('error', () => undefined);
  await once(s, 'connect');
  s.pause();
  return s;
}

/** Resolves on 'drain' or 'close', or at `deadline` (epoch ms). */
function drainedOrDone(s: net.Socket, deadline: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      s.off('drain', done).off('close', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
    s.once('drain', done).once('close', done);
  });
}

function kcat(args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const began = Date.now();
  return new Promise((resolve) => {
    execFile('kcat', args, { timeout: timeoutMs, maxBuffer: 512 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr, ms: Date.now() - began }),
    );
  });
}

/** What the data directory takes on disk, in MB (allocated blocks: LMDB's map file is sparse). */
function storedMB(dir: string): number {
  const bytes = readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).blocks * 512, 0);
  return Math.round(bytes / 2 ** 20);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function mqttString(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return Buffer.concat([u16(b.length), b]);
}

/** CONNECT with a username and password, clean session, keepalive 60 s. */
function loginPacket(clientId: string, username: string, password: string): Buffer {
  return packet(0x10, Buffer.concat([mqttString('MQTT'), Buffer.from([4, 0xc2]), u16(60), mqttString(clientId), mqttString(username), mqttString(password)]));
}

/** Awaits `p`, or rejects after `ms` saying what did not happen. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Topic names and error codes of a Metadata v4 response. */
function metadataV4Topics(frame: Buffer): { name: string; errorCode: number }[] {
  const r = new Reader(frame, 4);
  r.int32(); // throttle
  r.array(false, (r) => [r.int32(), r.string(), r.int32(), r.nullableString()]);
  r.nullableString(); // cluster id
  r.int32(); // controller
  return r.array(false, (r) => {
    const errorCode = r.int16();
    const name = r.string();
    r.bool();
    r.array(false, (r) => [r.int16(), r.int32(), r.int32(), r.array(false, (r) => r.int32()), r.array(false, (r) => r.int32())]);
    return { name, errorCode };
  });
}

describe('the hostile field', () => {
  beforeAll(() => {
    requireKcat();
    tmp = mkdtempSync(join(tmpdir(), 'weir-hostile-'));
  });

  afterEach(async () => {
    await field?.close();
    field = undefined;
  });

  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('1. a # subscriber at QoS 0 stops reading while 1000 msg/s × 1 KB arrive, then resets', async () => {
    const f = (field = await Field.open('slow-subscriber'));
    const sub = await RawClient.connect(f.weir.mqttPort, 'slow-sub');
    sub.write(packet(0x82, Buffer.concat([u16(1), mqttString('#'), Buffer.from([0])])));
    expect((await sub.read(5)).toString('hex')).toBe('9003000100');
    sub.socket.pause();
    const pub = await RawClient.connect(f.weir.mqttPort, 'flood');
    const payload = randomBytes(1024);
    const from = Date.now();
    const n = await atRate(1000, 12_000, (i) => pub.write(publishPacket(`flood/${i % 100}`, payload, { qos: 0 })));
    sub.socket.resetAndDestroy();
    const to = Date.now();
    pub.end();
    await f.judge('1 slow # subscriber', from, to, `${n} × 1 KB published`);
  }, 60_000);

  it('2. Metadata v4 naming 500 new topics per request for 10 s; /metrics, kcat -L and a restart after', async () => {
    const f = (field = await Field.open('metadata-flood'));
    const conns = await Promise.all(range(2).map(() => RawKafka.connect(f.weir.kafkaPort)));
    const from = Date.now();
    let created = 0;
    let refused = 0;
    await Promise.all(
      conns.map(async (c, k) => {
        for (let i = 1; Date.now() - from < 10_000; i++) {
          c.write(metadataV4(i, range(500).map((j) => `flood-${k}-${i}-${j}`)));
          for (const t of metadataV4Topics(await c.frame(i, 20_000))) {
            if (t.errorCode === 0) created++;
            else refused++;
          }
        }
      }),
    );
    const to = Date.now();
    for (const c of conns) c.destroy();
    const scrapes = [];
    for (let i = 0; i < 2; i++) {
      const m = await adminGet(f.weir, '/metrics', 10_000);
      expect(m.status).toBe(200);
      scrapes.push({ ms: m.ms, kB: Math.round(m.body.length / 1024) });
    }
    const listed = await kcat(['-b', f.weir.kafka, '-L', '-m', '20'], 30_000);
    expect(listed.code, listed.stderr).toBe(0);
    await f.judge(
      '2 metadata auto-create flood',
      from,
      to,
      `${created} topics created, ${refused} refused; /metrics ${JSON.stringify(scrapes)}; kcat -L ${listed.ms} ms`,
    );
    for (const s of scrapes) expect(s.ms, '/metrics answers within 5 s').toBeLessThan(5_000);
    expect(listed.ms, 'kcat -L within 10 s').toBeLessThan(10_000);

    // The same data directory, restarted: it comes up, stays up, and serves.
    await f.close();
    field = undefined;
    const began = Date.now();
    const again = await startHostileWeir(f.weir.dataDir, f.config);
    const readyMs = Date.now() - began;
    try {
      const canary = await Canary.start(again, { rate: CANARY_RATE });
      try {
        await canary.caughtUp(10_000, 2 * CANARY_RATE);
        expect(canary.failure).toBeUndefined();
        expect((await adminGet(again, '/healthz')).status).toBe(200);
        expect(again.alive()).toBe(true);
        const peak = again.rss.peakSince(0);
        console.log(`hostile 2 restart: ready in ${readyMs} ms, peak RssAnon ${peak.toFixed(1)} MB`);
        expect(peak).toBeLessThan(MEMORY_HIGH_MB);
      } finally {
        await canary.stop();
      }
    } finally {
      await again.stop();
    }
  }, 90_000);

  it('3. 100 Kafka connections each send most of a 16 MiB request and stop', async () => {
    const f = (field = await Field.open('big-frames'));
    const socks = await Promise.all(range(100).map(() => deafSocket(f.weir.kafkaPort)));
    const head = requestFrame(0, 3, 1, (w) => w.nullableString(null).int16(1).int32(10_000));
    head.writeInt32BE(16 * 1024 * 1024, 0);
    const chunk = Buffer.alloc(256 * 1024, 0x55);
    const from = Date.now();
    const deadline = from + 8_000;
    let written = 0;
    await Promise.all(
      socks.map(async (s) => {
        s.write(head);
        // 12 MiB of the 16: most of the request, never the end of it.
        for (let i = 0; i < 48 && Date.now() < deadline && !s.destroyed; i++) {
          if (!s.write(chunk)) await drainedOrDone(s, deadline);
          written += chunk.length;
        }
      }),
    );
    // The attacker holds its connections a while, then gives up.
    await delay(2_000);
    const closedByWeir = socks.filter((s) => s.destroyed || s.readableEnded).length;
    for (const s of socks) s.destroy();
    const to = Date.now();
    await f.judge('3 100 × most of 16 MiB', from, to, `${Math.round(written / 2 ** 20)} MiB written, ${closedByWeir} connections closed by Weir`);
  }, 60_000);

  it('4. 50 Kafka connections send a 1 MiB length, then one byte every 5 ms', async () => {
    const f = (field = await Field.open('slow-frames'));
    const socks = await Promise.all(range(50).map(() => deafSocket(f.weir.kafkaPort)));
    const size = Buffer.alloc(4);
    size.writeInt32BE(1024 * 1024, 0);
    for (const s of socks) {
      s.setNoDelay(true);
      s.write(size);
    }
    const one = Buffer.from([0x41]);
    const from = Date.now();
    const sends = await atRate(200, 20_000, () => {
      for (const s of socks) if (!s.destroyed) s.write(one);
    });
    const closedByWeir = socks.filter((s) => s.destroyed || s.readableEnded).length;
    for (const s of socks) s.destroy();
    const to = Date.now();
    await f.judge('4 50 × one byte per send', from, to, `${sends} bytes per connection, ${closedByWeir} connections closed by Weir`);
  }, 60_000);

  it('5. 5 Kafka connections each ask Fetch v4 for 2 GB (max_bytes = partition_max_bytes) of a 64 MiB log and never read', async () => {
    const f = (field = await Field.open('greedy-fetches'));
    const from = Date.now();
    const producer = await RawKafka.connect(f.weir.kafkaPort);
    const batch = () => encodeRecordBatch({ baseOffset: 0, records: range(60).map(() => ({ key: null, value: randomBytes(16 * 1024) })) });
    // 68 batches of 960 KiB (under max.message.bytes, 1 MiB).
    for (let i = 1; i <= 68; i++) {
      producer.write(produceV3(i, 'greedy', 0, batch()));
      expect(produceErrorCode(await producer.frame(i, 20_000)), `produce ${i}`).toBe(0);
    }
    producer.destroy();
    const socks = await Promise.all(range(5).map(() => deafSocket(f.weir.kafkaPort)));
    const askAll = requestFrame(ApiKey.Fetch, 4, 1, (w) => w.raw(fetchBody({ topic: 'greedy', partition: 0, offset: 0, maxWaitMs: 0, minBytes: 1, maxBytes: 0x7fffffff, partitionMaxBytes: 0x7fffffff })));
    for (const s of socks) s.write(askAll);
    // The attacker holds its connections, reading nothing, beside the canary.
    await delay(8_000);
    const closedByWeir = socks.filter((s) => s.destroyed || s.readableEnded).length;
    for (const s of socks) s.destroy();
    const to = Date.now();
    await f.judge('5 unread 2 GB fetches', from, to, `64 MiB produced, ${closedByWeir} connections closed by Weir`);
  }, 90_000);

  it('6. 20 persistent sessions on pq/# go offline while 200 QoS 1 × 256 KB are published; they come back for them after', async () => {
    const f = (field = await Field.open('offline-queues'));
    const url = `mqtt://127.0.0.1:${f.weir.mqttPort}`;
    const session = (i: number) => mqtt.connectAsync(url, { clientId: `pq-${i}`, clean: false, reconnectPeriod: 0, connectTimeout: 10_000 });
    const from = Date.now();
    await Promise.all(
      range(20).map(async (i) => {
        const c = await session(i);
        await c.subscribeAsync('pq/#', { qos: 1 });
        await c.endAsync();
      }),
    );
    const pub = await mqtt.connectAsync(url, { clientId: 'pq-publisher', reconnectPeriod: 0 });
    const payload = randomBytes(256 * 1024);
    for (let k = 0; k < 200; k += 10) await Promise.all(range(10).map((i) => pub.publishAsync(`pq/${k + i}`, payload, { qos: 1 })));
    await pub.endAsync();
    const to = Date.now();
    const stored = storedMB(f.weir.dataDir);
    await f.judge('6 offline queues', from, to, `51 MB published to 20 offline sessions; data dir ${stored} MB on disk`);
    expect(stored, 'one stored copy of each payload, not one per session (MB on disk)').toBeLessThan(250);

    // Each session comes back and takes its queue, 200 messages (51 MB): nothing was lost, and
    // Weir's memory stays under MemoryHigh and comes back after that too. Taking 1 GB of queued
    // messages is the sessions' own due traffic, not the attack: the canary's latency meanwhile
    // is logged, not bounded.
    const drained = Date.now();
    const received = await Promise.all(
      range(20).map(async (i) => {
        const c = await session(i);
        let n = 0;
        await within(new Promise<void>((resolve) => c.on('message', () => ++n === 200 && resolve())), 90_000, `session pq-${i} receives its 200 queued messages`).finally(() => c.endAsync(true));
        return n;
      }),
    );
    expect(received).toEqual(range(20).map(() => 200));
    const w = f.canary.window(drained, Date.now());
    console.log(`hostile 6 queues taken in ${Date.now() - drained} ms; canary meanwhile ${JSON.stringify(w)}, peak RssAnon ${f.weir.rss.peakSince(drained).toFixed(1)} MB`);
    expect(f.weir.alive()).toBe(true);
    expect(f.weir.rss.peakSince(drained), 'peak RssAnon while the queues are taken vs MemoryHigh').toBeLessThan(MEMORY_HIGH_MB);
    expect(await f.weir.rss.under(f.beforeMB + RETURN_MB, RETURN_WITHIN_MS), 'memory comes back after the queues are taken').toBeLessThan(f.beforeMB + RETURN_MB);
  }, 180_000);

  it('7. Produce batches with a valid CRC and garbage records, or recordCount 2^31−1: CORRUPT_MESSAGE, and kcat does not hang', async () => {
    const f = (field = await Field.open('corrupt-batches'));
    const good = () => encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: Buffer.from('good') }] });
    const resign = (b: Buffer) => b.writeUInt32BE(crc32c(b, ATTRIBUTES_OFFSET, b.length), CRC_OFFSET);
    const garbage = encodeRecordBatch({ baseOffset: 0, records: range(5).map((i) => ({ key: null, value: Buffer.from(`record ${i}`) })) });
    randomBytes(garbage.length - RECORDS_OFFSET).copy(garbage, RECORDS_OFFSET);
    resign(garbage);
    const huge = encodeRecordBatch({ baseOffset: 0, records: range(3).map((i) => ({ key: null, value: Buffer.from(`record ${i}`) })) });
    huge.writeInt32BE(2 ** 31 - 1, RECORDS_COUNT_OFFSET);
    resign(huge);
    const produce = async (records: Buffer): Promise<number> => {
      const c = await RawKafka.connect(f.weir.kafkaPort);
      c.write(produceV3(1, 'corrupt', 0, records));
      const code = produceErrorCode(await c.frame(1));
      c.destroy();
      return code;
    };
    const from = Date.now();
    expect(await produce(good())).toBe(0);
    expect(await produce(garbage), 'garbage records: CORRUPT_MESSAGE').toBe(2);
    expect(await produce(huge), 'recordCount 2^31−1: CORRUPT_MESSAGE').toBe(2);
    expect(await produce(good())).toBe(0);
    const read = await kcat(['-b', f.weir.kafka, '-C', '-t', 'corrupt', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o %s\n'], 15_000);
    const to = Date.now();
    expect(read.code, `kcat -C -e exits: ${read.stderr}`).toBe(0);
    expect(read.stdout).toBe('0 good\n1 good\n');
    await f.judge('7 corrupt batches', from, to, `kcat read the partition in ${read.ms} ms`);
  }, 60_000);

  it('8. 300 idle Kafka connections: a new client still connects and produces', async () => {
    const f = (field = await Field.open('idle-connections'));
    const from = Date.now();
    const idle = await Promise.all(range(300).map(() => deafSocket(f.weir.kafkaPort)));
    const kafka = new Kafka({ clientId: 'newcomer', brokers: [f.weir.kafka], logLevel: logLevel.NOTHING, connectionTimeout: 3_000, retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 3_000 } });
    const producer = kafka.producer();
    await within(
      (async () => {
        await producer.connect();
        await producer.send({ topic: 'newcomer', acks: -1, messages: [{ value: 'hello' }] });
      })(),
      20_000,
      'a new Kafka client connects and produces',
    );
    const produceMs = Date.now() - from;
    await producer.disconnect();
    // The idle connections stay a few seconds more, with the canary beside them.
    await delay(Math.max(0, from + 5_000 - Date.now()));
    const closedByWeir = idle.filter((s) => s.destroyed || s.readableEnded).length;
    for (const s of idle) s.destroy();
    const to = Date.now();
    await f.judge('8 300 idle connections', from, to, `new client produced ${produceMs} ms after the 300 connected; ${closedByWeir} idle connections closed by Weir`);
  }, 60_000);

  it('9. MQTT PUBLISH with NUL or invalid UTF-8 in the topic: the connection is closed, nothing stored', async () => {
    const f = (field = await Field.open('bad-topics'));
    const from = Date.now();
    const bad: Buffer[] = [Buffer.from('a/\u0000/b'), Buffer.from([0x61, 0x2f, 0xc3, 0x28]), Buffer.from([0x61, 0xc0, 0x80]), Buffer.from([0xed, 0xa0, 0x80])];
    for (const [i, topic] of bad.entries()) {
      for (const qos of [0, 1] as const) {
        const c = await RawClient.connect(f.weir.mqttPort, `bad-${i}-${qos}`);
        const id = qos === 1 ? u16(7) : Buffer.alloc(0);
        c.write(packet(0x30 | (qos << 1), Buffer.concat([mqttString(topic), id, Buffer.from('payload')])));
        await within(c.closed, 5_000, `a PUBLISH to topic ${topic.toString('hex')} at QoS ${qos} closes the connection`);
        expect(c.socket.bytesRead, 'no PUBACK, only the CONNACK').toBe(4);
      }
    }
    const sentinel = await RawClient.connect(f.weir.mqttPort, 'sentinel');
    sentinel.write(publishPacket('sentinel', Buffer.from('ok'), { qos: 1, id: 9 }));
    expect((await within(sentinel.read(4), 5_000, 'the sentinel PUBACK')).toString('hex')).toBe('40020009');
    sentinel.end();
    const read = await kcat(['-b', f.weir.kafka, '-C', '-t', 'mqtt', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%k\n'], 15_000);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout, 'only the sentinel was stored').toBe('sentinel\n');
    const admin = new Kafka({ clientId: 'check', brokers: [f.weir.kafka], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const topics = (await admin.listTopics()).sort();
    await admin.disconnect();
    expect(topics).toEqual([CANARY_TOPIC, 'mqtt']);
    const to = Date.now();
    await f.judge('9 NUL / invalid UTF-8 topics', from, to);
  }, 60_000);

  it('10. 2000 refused MQTT connections and 100k retained messages over the cap: a bounded number of warning lines', async () => {
    const passwd = join(tmp, 'mqtt.passwd');
    writeFileSync(passwd, `canary:${await hashPassword('canary-pw')}\n`);
    const MAX_CONNECTIONS = 100;
    const f = (field = await Field.open(
      'log-flood',
      { mqtt: { password_file: passwd, allow_anonymous: false, max_connections: MAX_CONNECTIONS, max_retained_messages: 100, connect_timeout_ms: 120_000 } },
      { username: 'canary', password: 'canary-pw' },
    ));
    const port = f.weir.mqttPort;
    const warningsBefore = f.weir.warnings.length;
    const messagesBefore = new Map(f.weir.messages);
    const linesBefore = f.weir.lineCount();
    // The publisher of the retained flood logs in first, so that it has its place beside the canary.
    const pub = await RawClient.connect(port);
    pub.write(loginPacket('retainer', 'canary', 'canary-pw'));
    expect((await within(pub.read(4), 5_000, 'CONNACK')).toString('hex')).toBe('20020000');
    const anonymous = async (i: number): Promise<void> => {
      const c = await RawClient.connect(port);
      c.write(packet(0x10, Buffer.concat([mqttString('MQTT'), Buffer.from([4, 0x02]), u16(60), mqttString(`anon-${i}`)])));
      await within(c.closed, 10_000, 'a refused CONNECT closes');
    };
    const overCap = async (): Promise<void> => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => undefined);
      await within(once(s, 'close'), 10_000, 'a connection over mqtt.max_connections closes');
    };
    const retained = (topic: string) => packet(0x31, Buffer.concat([mqttString(topic), Buffer.from('r')]));
    const from = Date.now();
    // 1000 anonymous CONNECTs, refused (no username), 50 at a time.
    for (let k = 0; k < 1000; k += 50) await Promise.all(range(50).map((i) => anonymous(k + i)));
    // Connections beside the canary and the publisher fill mqtt.max_connections; 1000 more are refused at accept.
    const fill = () => Promise.all(range(MAX_CONNECTIONS - 2).map(() => deafSocket(port)));
    let fillers = await fill();
    for (let k = 0; k < 1000; k += 50) await Promise.all(range(50).map(() => overCap()));
    for (const s of fillers) s.destroy();
    // 100k retained PUBLISHes, each to a new topic, with mqtt.max_retained_messages 100.
    for (let k = 0; k < 100_000; k += 1000) {
      if (!pub.socket.write(Buffer.concat(range(1000).map((i) => retained(`ret/${k + i}`))))) await drainedOrDone(pub.socket, Date.now() + 30_000);
    }
    pub.write(publishPacket('ret/done', Buffer.from('done'), { qos: 1, id: 1 }));
    expect((await within(pub.read(4), 60_000, 'the PUBACK after 100k retained PUBLISHes')).toString('hex')).toBe('40020001');
    // One more of each once a rate-limit interval (10 s) has passed: that line carries the count.
    await delay(Math.max(0, from + 10_500 - Date.now()));
    await anonymous(1000);
    pub.write(retained('ret/last'));
    pub.write(publishPacket('ret/done', Buffer.from('done'), { qos: 1, id: 2 }));
    expect((await within(pub.read(4), 10_000, 'the last PUBACK')).toString('hex')).toBe('40020002');
    fillers = await fill();
    await overCap();
    for (const s of fillers) s.destroy();
    pub.end();
    const to = Date.now();
    const warnings = f.weir.warnings.slice(warningsBefore);
    const lines = f.weir.lineCount() - linesBefore;
    const logged = [...f.weir.messages].map(([msg, n]) => [msg, n - (messagesBefore.get(msg) ?? 0)]).filter(([, n]) => n !== 0);
    await f.judge('10 log flood', from, to, `${warnings.length} warning lines, ${lines} lines in all: ${JSON.stringify(logged)}`);
    expect(warnings.length, 'warning lines, for 2002 refused connections and 100k unretained messages').toBeLessThanOrEqual(12);
    expect(lines, 'log lines in all (info included)').toBeLessThanOrEqual(30);
    // Each kind is reported, a few times at most, and later lines count what was not logged: at
    // least half of it (the count since the last line waits for the next one, 10 s on).
    for (const [pattern, occurred] of [[/refusing CONNECT/, 1001], [/max_connections/, 1001], [/max_retained_messages/, 99_901]] as const) {
      const mine = warnings.filter((w) => pattern.test(w.msg));
      const counted = mine.reduce((n, w) => n + 1 + (typeof w['suppressed'] === 'number' ? w['suppressed'] : 0), 0);
      expect(mine.length, `warning lines matching ${pattern}`).toBeGreaterThanOrEqual(1);
      expect(mine.length, `warning lines matching ${pattern}`).toBeLessThanOrEqual(4);
      expect(counted, `occurrences the ${pattern} lines account for`).toBeGreaterThanOrEqual(occurred / 2);
      expect(counted, `occurrences the ${pattern} lines account for`).toBeLessThanOrEqual(occurred + 200);
    }
  }, 90_000);
});
