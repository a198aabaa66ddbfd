/**
 * Exact Kafka bytes for the hostile suite, written with Weir's own codec (src/kafka/protocol/):
 * request frames, a few request bodies, and a raw socket that collects response frames.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { ApiKey } from '../../src/kafka/protocol/api-keys.js';
import { writeRequestHeader } from '../../src/kafka/protocol/header.js';
import { Reader } from '../../src/kafka/protocol/reader.js';
import { Writer } from '../../src/kafka/protocol/writer.js';

/** size, request header v1, body. */
export function requestFrame(apiKey: number, apiVersion: number, correlationId: number, body: (w: Writer) => void): Buffer {
  const w = new Writer();
  w.int32(0);
  writeRequestHeader(w, { apiKey, apiVersion, correlationId, clientId: 'hostile' }, false);
  body(w);
  const frame = w.toBuffer();
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

/** Metadata v4 naming `topics`, auto-creation allowed. */
export const metadataV4 = (correlationId: number, topics: string[]): Buffer =>
  requestFrame(ApiKey.Metadata, 4, correlationId, (w) => w.array(topics, false, (w, t) => w.string(t)).bool(true));

/** Produce v3, acks=1, one partition. */
export const produceV3 = (correlationId: number, topic: string, partition: number, records: Buffer): Buffer =>
  requestFrame(ApiKey.Produce, 3, correlationId, (w) => {
    w.nullableString(null).int16(1).int32(10_000);
    w.array([0], false, (w) => w.string(topic).array([0], false, (w) => w.int32(partition).nullableBytes(records)));
  });

/** Error code of a Produce v3 response for one partition (the frame without its size). */
export function produceErrorCode(frame: Buffer): number {
  const r = new Reader(frame, 4);
  r.int32();
  r.string();
  r.int32();
  r.int32();
  return r.int16();
}

/** A raw Kafka connection that collects response frames (without their size prefix). */
export class RawKafka {
  private buf: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  readonly frames: Buffer[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readInt32BE(0)) {
        const n = this.buf.readInt32BE(0);
        this.frames.push(this.buf.subarray(4, 4 + n));
        this.buf = this.buf.subarray(4 + n);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number): Promise<RawKafka> {
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    return new RawKafka(socket);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The `n`th response frame (1-based), once it arrives; rejects if the connection closes first or after `timeoutMs`. */
  async frame(n: number, timeoutMs = 10_000): Promise<Buffer> {
    const timer = setTimeout(() => this.wake(), timeoutMs);
    const until = Date.now() + timeoutMs;
    try {
      while (this.frames.length < n) {
        if (this.closed) throw new Error(`kafka connection closed with ${this.frames.length}/${n} responses`);
        if (Date.now() >= until) throw new Error(`no response ${n} within ${timeoutMs} ms`);
        await new Promise<void>((r) => this.waiters.push(r));
      }
      return this.frames[n - 1]!;
    } finally {
      clearTimeout(timer);
    }
  }

  write(b: Buffer): boolean {
    return this.socket.write(b);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
