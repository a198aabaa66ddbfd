/**
 * The `forward` side of bench:mirror: how fast a producer of Weir's own could drain the same
 * backlog. It reads the stored batches, re-encodes each with Weir's codec, one compact origin
 * header per record and lz4 (the mirror's default), and sends them as Produce v3 requests
 * (acks=-1, up to five in flight on one connection) to the same upstream. No idempotence, no
 * retries, no metadata or leader discovery, no TLS or SASL: an upper bound for that design, not a
 * mirror. An error in any partition of any response fails the run.
 */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { CompressionType } from '../../src/kafka/protocol/compression.js';
import { decodeRecordBatch, encodeRecordBatch, readBatchHeader } from '../../src/kafka/protocol/record-batch.js';
import { Reader } from '../../src/kafka/protocol/reader.js';
import { Writer } from '../../src/kafka/protocol/writer.js';
import type { RecordLog } from '../../src/store/types.js';

const IN_FLIGHT = 5;
const CHUNK_BYTES = 1 << 20;

/** A stored batch with `weir.origin: <device>/<topic>/<partition>/<offset>` on each record. */
function withOriginHeaders(batch: Buffer, prefix: string): Buffer {
  const records = decodeRecordBatch(batch).records.map((r) => ({
    key: r.key,
    value: r.value,
    timestamp: r.timestamp,
    headers: [...r.headers, { key: 'weir.origin', value: Buffer.from(prefix + r.offset) }],
  }));
  return encodeRecordBatch({ baseOffset: 0, records, compression: CompressionType.Lz4 });
}

function produceRequest(correlationId: number, topic: string, parts: [number, Buffer[]][]): Buffer[] {
  const w = new Writer().int16(0).int16(3).int32(correlationId).nullableString('weir-bench-forward');
  w.nullableString(null).int16(-1).int32(30_000).int32(1).string(topic).int32(parts.length);
  for (const [partition, batches] of parts) {
    w.int32(partition).bytesFromChunks(batches, batches.reduce((n, b) => n + b.length, 0));
  }
  const body = w.toBuffer();
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return [size, body];
}

/** Throws on any partition error in a Produce v3 response frame (without its size prefix). */
function checkProduceResponse(frame: Buffer): void {
  const r = new Reader(frame);
  r.int32(); // correlation id
  for (let t = r.int32(); t > 0; t--) {
    const topic = r.string();
    for (let p = r.int32(); p > 0; p--) {
      const partition = r.int32();
      const error = r.int16();
      r.int64();
      r.int64();
      if (error !== 0) throw new Error(`forward: produce to ${topic}[${partition}] failed with error ${error}`);
    }
  }
}

class Responses {
  private buf: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  count = 0;
  failure: Error | undefined;

  constructor(socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readInt32BE(0)) {
        const n = this.buf.readInt32BE(0);
        try {
          checkProduceResponse(this.buf.subarray(4, 4 + n));
        } catch (err) {
          this.failure = err as Error;
        }
        this.buf = this.buf.subarray(4 + n);
        this.count++;
      }
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.failure ??= new Error('forward: the upstream closed the connection');
      for (const w of this.waiters.splice(0)) w();
    });
  }

  async waitFor(count: number): Promise<void> {
    while (this.count < count) {
      if (this.failure !== undefined) throw this.failure;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.failure !== undefined) throw this.failure;
  }
}

/** Sends every record of `topic` in `store` to `upstreamTopic` at 127.0.0.1:`port`; resolves once all are acknowledged. */
export async function forwardStored(store: Pick<RecordLog, 'read'>, topic: string, partitions: number, perPartition: number, port: number, upstreamTopic: string): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  const responses = new Responses(socket);
  const next = new Array<number>(partitions).fill(0);
  let sent = 0;
  try {
    for (;;) {
      const parts: [number, Buffer[]][] = [];
      for (let p = 0; p < partitions; p++) {
        if (next[p]! >= perPartition) continue;
        const batches = store.read(topic, p, next[p]!, CHUNK_BYTES).batches;
        const last = readBatchHeader(batches.at(-1)!);
        next[p] = last.baseOffset + last.lastOffsetDelta + 1;
        parts.push([p, batches.map((b) => withOriginHeaders(b, `bench/${topic}/${p}/`))]);
      }
      if (parts.length === 0) break;
      await responses.waitFor(sent - IN_FLIGHT + 1);
      for (const b of produceRequest(++sent, upstreamTopic, parts)) socket.write(b);
    }
    await responses.waitFor(sent);
  } finally {
    socket.destroy();
  }
}
