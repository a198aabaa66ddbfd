/**
 * The Kafka load generator of `npm run bench:wear`: raw sockets sending hand-built Produce v3
 * requests (acks=-1, so each is answered only after its record is durable), one record per
 * request, no client-side batching at all: the worst case for a log's write amplification, as a
 * local program producing one reading at a time with linger.ms=0 would be.
 *
 * Same protocol and result as mqtt-load.ts, but the JSON KafkaLoadSpec comes in the environment
 * (WEAR_KAFKA_LOAD), not argv[2]: this imports mqtt-load.js for its histogram, and that module
 * runs its own generator when it sees an argv[2]. Prints `connected`
 * once every connection is open, waits for `go` on stdin, runs warm-up then measurement at a
 * fixed rate (open loop, 1 ms tick, round-robin over the connections), and prints one JSON
 * KafkaLoadResult line. A connection with 1000 requests outstanding skips its turn (counted).
 * Latency is request written → response read, in mqtt-load's histogram buckets.
 */
import net from 'node:net';
import { encodeRecordBatch } from '../../src/kafka/protocol/record-batch.js';
import { BUCKETS, bucketOf, type LoadResult } from './mqtt-load.js';
import { measureWindow, reportConnectedAndWaitForGo } from './load-generator.js';

export interface KafkaLoadSpec {
  port: number;
  connections: number;
  bytes: number;
  topic: string;
  partition: number;
  warmupMs: number;
  measureMs: number;
  /** Total records (= requests) per second of this generator. */
  rate: number;
  name: string;
  /** Each connection is an idempotent producer: its own producer id, sequences in order. */
  idempotent?: boolean;
}

export interface KafkaLoadResult extends LoadResult {
  /** Requests written during the measurement. */
  sent: number;
  /** Responses during the measurement whose partition error code was not 0. */
  errors: number;
  /** The first non-zero error code seen, if any. */
  firstError: number | null;
}

const PRODUCE = 0;
const VERSION = 3;
const CLIENT_ID = Buffer.from('weir-wear-bench');

/** Produce v3 request frame (size prefix included) carrying one batch for one partition. */
function produceFrame(correlationId: number, topic: Buffer, partition: number, batch: Buffer): Buffer {
  const size = 2 + 2 + 4 + 2 + CLIENT_ID.length + 2 + 2 + 4 + 4 + 2 + topic.length + 4 + 4 + 4 + batch.length;
  const b = Buffer.allocUnsafe(4 + size);
  let p = b.writeInt32BE(size, 0);
  p = b.writeInt16BE(PRODUCE, p);
  p = b.writeInt16BE(VERSION, p);
  p = b.writeInt32BE(correlationId, p);
  p = b.writeInt16BE(CLIENT_ID.length, p);
  p += CLIENT_ID.copy(b, p);
  p = b.writeInt16BE(-1, p); // transactional_id: null
  p = b.writeInt16BE(-1, p); // acks: all
  p = b.writeInt32BE(30_000, p); // timeout_ms
  p = b.writeInt32BE(1, p); // topics
  p = b.writeInt16BE(topic.length, p);
  p += topic.copy(b, p);
  p = b.writeInt32BE(1, p); // partitions
  p = b.writeInt32BE(partition, p);
  p = b.writeInt32BE(batch.length, p);
  batch.copy(b, p);
  return b;
}

/** Correlation id and the first partition's error code of a Produce v3 response body. */
function parseResponse(frame: Buffer): { correlationId: number; errorCode: number } {
  let p = 0;
  const correlationId = frame.readInt32BE(p);
  p += 4;
  const topics = frame.readInt32BE(p);
  p += 4;
  if (topics < 1) return { correlationId, errorCode: -1 };
  p += 2 + frame.readInt16BE(p); // topic name
  const partitions = frame.readInt32BE(p);
  p += 4;
  if (partitions < 1) return { correlationId, errorCode: -1 };
  p += 4; // partition index
  return { correlationId, errorCode: frame.readInt16BE(p) };
}

class Conn {
  readonly sentAt = new Float64Array(65_536);
  outstanding = 0;
  private nextId = 1;
  private pending = Buffer.alloc(0);
  readonly connected: Promise<void>;
  private readonly topic: Buffer;
  private readonly value: Buffer;
  /** A producer id of this connection's own (Weir takes an unknown producer's first sequence as it is). */
  private readonly producerId = Date.now() * 1000 + Math.floor(Math.random() * 1000);
  private sequence = 0;

  constructor(readonly socket: net.Socket, private readonly spec: KafkaLoadSpec, private readonly onResponse: (c: Conn, correlationId: number, errorCode: number) => void) {
    this.topic = Buffer.from(spec.topic);
    this.value = Buffer.alloc(spec.bytes, 0x61);
    this.connected = new Promise((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('connection closed')));
    });
    socket.on('data', (chunk: Buffer) => {
      const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      let at = 0;
      while (buf.length - at >= 4) {
        const size = buf.readInt32BE(at);
        if (buf.length - at - 4 < size) break;
        const { correlationId, errorCode } = parseResponse(buf.subarray(at + 4, at + 4 + size));
        this.outstanding--;
        this.onResponse(this, correlationId, errorCode);
        at += 4 + size;
      }
      this.pending = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
    });
  }

  produce(): void {
    const id = this.nextId;
    this.nextId = id === 0x7fff_ffff ? 1 : id + 1;
    // A fresh batch per request, as a client makes one (its own timestamp and CRC).
    const producer = this.spec.idempotent === true ? { producerId: this.producerId, producerEpoch: 0, baseSequence: this.sequence++ } : {};
    const batch = encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: this.value }], ...producer });
    this.sentAt[id & 0xffff] = performance.now();
    this.outstanding++;
    this.socket.write(produceFrame(id, this.topic, this.spec.partition, batch));
  }
}

async function run(spec: KafkaLoadSpec): Promise<KafkaLoadResult> {
  const histogram = new Array<number>(BUCKETS).fill(0);
  let measuring = false;
  let acked = 0;
  let sent = 0;
  let errors = 0;
  let firstError: number | null = null;
  let maxUs = 0;
  let skipped = 0;
  const onResponse = (c: Conn, correlationId: number, errorCode: number): void => {
    if (!measuring) return;
    if (errorCode !== 0) {
      errors++;
      firstError ??= errorCode;
      return;
    }
    const us = (performance.now() - c.sentAt[correlationId & 0xffff]!) * 1000;
    histogram[bucketOf(us)]!++;
    if (us > maxUs) maxUs = us;
    acked++;
  };
  const conns: Conn[] = [];
  for (let i = 0; i < spec.connections; i++) {
    const socket = net.connect(spec.port, '127.0.0.1');
    socket.setNoDelay(true);
    conns.push(new Conn(socket, spec, onResponse));
  }
  await Promise.all(conns.map((c) => c.connected));
  await reportConnectedAndWaitForGo();

  const started = performance.now();
  let due = 0;
  let next = 0;
  const tick = setInterval(() => {
    const now = Math.floor(((performance.now() - started) / 1000) * spec.rate) - due;
    for (let i = 0; i < now; i++) {
      const c = conns[next]!;
      next = (next + 1) % conns.length;
      due++;
      if (c.outstanding >= 1000) {
        if (measuring) skipped++;
        continue;
      }
      c.produce();
      if (measuring) sent++;
    }
  }, 1);
  const { seconds, cpu } = await measureWindow(spec, (on) => (measuring = on));
  clearInterval(tick);
  for (const c of conns) c.socket.destroy();
  return { acked, sent, errors, firstError, seconds, histogram, maxUs: Math.round(maxUs), skipped, cpu };
}

const specText = process.env['WEAR_KAFKA_LOAD'];
if (specText !== undefined) {
  const result = await run(JSON.parse(specText) as KafkaLoadSpec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
