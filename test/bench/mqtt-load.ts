/**
 * One load-generator process of `npm run bench:mqtt`: raw sockets writing hand-built MQTT 3.1.1
 * packets (§3.1 CONNECT, §3.3 PUBLISH QoS 1) and reading back 4-byte CONNACK/PUBACK frames, so
 * that the generator, not MQTT.js's per-packet machinery, is the cheap side of the measurement.
 *
 * argv[2] is a JSON LoadSpec. Prints `connected` once every CONNACK is in, waits for `go` on
 * stdin, runs warm-up then measurement, and prints one JSON LoadResult line.
 *
 * Closed loop (rate 0): each connection keeps `inflight` PUBLISHes outstanding. Open loop
 * (rate > 0): publishes are sent on a 1 ms tick at `rate` msg/s overall, whatever the acks do
 * (a connection with 1000 outstanding skips its turn, counted). Latency is PUBLISH written →
 * PUBACK read, in a histogram (bucketOf) fine below 1 ms, coarser above.
 */
import net from 'node:net';
import { connectPacket, publishPacket } from '../helpers/mqtt-raw.js';
import { measureWindow, reportConnectedAndWaitForGo } from './load-generator.js';

export interface LoadSpec {
  port: number;
  connections: number;
  inflight: number;
  bytes: number;
  warmupMs: number;
  measureMs: number;
  /** Total msg/s of this generator; 0 = closed loop. */
  rate: number;
  name: string;
}

export interface LoadResult {
  acked: number;
  seconds: number;
  /** Histogram counts, bucket layout as `bucketOf`. */
  histogram: number[];
  maxUs: number;
  skipped: number;
  /** CPU time of this generator over the measurement, as a share of one core (0..1+). */
  cpu: number;
}

export const BUCKETS = 1000 + 990 + 990 + 1;

/** 1 µs buckets below 1 ms, 100 µs up to 100 ms, 10 ms up to 10 s, then one overflow bucket. */
export function bucketOf(us: number): number {
  if (us < 1000) return Math.floor(us);
  if (us < 100_000) return 1000 + Math.floor((us - 1000) / 100);
  if (us < 10_000_000) return 1990 + Math.floor((us - 100_000) / 10_000);
  return BUCKETS - 1;
}

/** Upper bound (µs) of a bucket; the overflow bucket reports 10 s (see maxUs for the true max). */
export function bucketUpperUs(i: number): number {
  if (i < 1000) return i + 1;
  if (i < 1990) return 1000 + (i - 999) * 100;
  return 100_000 + (i - 1989) * 10_000;
}

/** A QoS 1 PUBLISH template; the packet id sits at `idOffset`, just before the payload. */
function publishTemplate(topic: string, payload: Buffer): { bytes: Buffer; idOffset: number } {
  const bytes = publishPacket(topic, payload, { qos: 1, id: 0 });
  return { bytes, idOffset: bytes.length - payload.length - 2 };
}

class Conn {
  readonly sentAt = new Float64Array(65_536);
  outstanding = 0;
  private nextId = 1;
  private pending = Buffer.alloc(0);
  connected!: Promise<void>;

  constructor(readonly socket: net.Socket, private readonly template: { bytes: Buffer; idOffset: number }, private readonly onAck: (c: Conn, id: number) => void) {}

  start(clientId: string): void {
    this.connected = new Promise((resolve, reject) => {
      let connack = false;
      this.socket.on('data', (chunk: Buffer) => {
        let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
        let at = 0;
        while (buf.length - at >= 4) {
          const type = buf[at]! >> 4;
          if (type === 2 && !connack) {
            connack = true;
            if (buf[at + 3] !== 0) reject(new Error(`CONNACK refused: ${buf[at + 3]}`));
            else resolve();
          } else if (type === 4) {
            this.outstanding--;
            this.onAck(this, (buf[at + 2]! << 8) | buf[at + 3]!);
          } else {
            reject(new Error(`unexpected packet type ${type}`));
          }
          at += 4;
        }
        this.pending = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
        buf = this.pending;
      });
      this.socket.once('error', reject);
      this.socket.once('close', () => reject(new Error('connection closed')));
    });
    this.socket.write(connectPacket(clientId, { keepalive: 0 }));
  }

  publish(): void {
    const id = this.nextId;
    this.nextId = id === 65_535 ? 1 : id + 1;
    const packet = Buffer.allocUnsafe(this.template.bytes.length);
    this.template.bytes.copy(packet);
    packet[this.template.idOffset] = id >> 8;
    packet[this.template.idOffset + 1] = id & 0xff;
    this.sentAt[id] = performance.now();
    this.outstanding++;
    this.socket.write(packet);
  }
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const histogram = new Array<number>(BUCKETS).fill(0);
  let measuring = false;
  let stopping = false;
  let acked = 0;
  let maxUs = 0;
  let skipped = 0;
  const payload = Buffer.alloc(spec.bytes, 0x61);
  const onAck = (c: Conn, id: number): void => {
    if (measuring) {
      const us = (performance.now() - c.sentAt[id]!) * 1000;
      histogram[bucketOf(us)]!++;
      if (us > maxUs) maxUs = us;
      acked++;
    }
    if (spec.rate === 0 && !stopping) c.publish();
  };
  const conns: Conn[] = [];
  for (let i = 0; i < spec.connections; i++) {
    const socket = net.connect(spec.port, '127.0.0.1');
    socket.setNoDelay(true);
    const c = new Conn(socket, publishTemplate(`bench/${spec.name}/${i}`, payload), onAck);
    c.start(`${spec.name}-${i}`);
    conns.push(c);
    if (i % 50 === 49) await Promise.all(conns.slice(-50).map((x) => x.connected)); // no SYN flood
  }
  await Promise.all(conns.map((c) => c.connected));
  await reportConnectedAndWaitForGo();

  let tick: NodeJS.Timeout | undefined;
  if (spec.rate === 0) {
    for (const c of conns) for (let i = 0; i < spec.inflight; i++) c.publish();
  } else {
    const started = performance.now();
    let sent = 0;
    let next = 0;
    tick = setInterval(() => {
      const due = Math.floor(((performance.now() - started) / 1000) * spec.rate) - sent;
      for (let i = 0; i < due; i++) {
        const c = conns[next]!;
        next = (next + 1) % conns.length;
        if (c.outstanding >= 1000) skipped++;
        else c.publish();
        sent++;
      }
    }, 1);
  }
  const { seconds, cpu } = await measureWindow(spec, (on) => (measuring = on));
  stopping = true;
  if (tick !== undefined) clearInterval(tick);
  for (const c of conns) c.socket.destroy();
  return { acked, seconds, histogram, maxUs: Math.round(maxUs), skipped, cpu };
}

if (process.argv[2] !== undefined) {
  const result = await run(JSON.parse(process.argv[2]) as LoadSpec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
