/**
 * A writer for response bodies. Small fields go into a growing scratch buffer; large byte
 * arrays (stored record batches in Fetch) are kept by reference as separate chunks, so a
 * fetched batch is never copied on its way from LMDB to the socket: stored batches are sent
 * back exactly as they are stored.
 *
 * `flexible` picks the compact forms (KIP-482) exactly as in Reader.
 */
import { WeirError } from '../../errors.js';

/** Byte arrays at least this large are referenced, not copied. */
const ZERO_COPY_THRESHOLD = 1024;

export class Writer {
  private chunks: Buffer[] = [];
  private buf: Buffer;
  private pos = 0;
  private flushedBytes = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.flushedBytes + this.pos;
  }

  private ensure(n: number): void {
    if (this.buf.length - this.pos >= n) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int8(v: number): this {
    this.ensure(1);
    this.pos = this.buf.writeInt8(v, this.pos);
    return this;
  }

  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  int16(v: number): this {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
    return this;
  }

  uint32(v: number): this {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
    return this;
  }

  int64(v: number): this {
    if (!Number.isSafeInteger(v)) throw new WeirError('INVALID_ARGUMENT', `int64 ${v} is not a safe integer`);
    this.ensure(8);
    const high = Math.floor(v / 2 ** 32);
    this.buf.writeInt32BE(high, this.pos);
    this.buf.writeUInt32BE(v - high * 2 ** 32, this.pos + 4);
    this.pos += 8;
    return this;
  }

  uvarint(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new WeirError('INVALID_ARGUMENT', `unsigned varint ${v} out of range`);
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  uuid(v: Buffer): this {
    if (v.length !== 16) throw new WeirError('INVALID_ARGUMENT', `a uuid is 16 bytes, not ${v.length}`);
    return this.raw(v);
  }

  /** Bytes without a length prefix. */
  raw(v: Buffer): this {
    if (v.length >= ZERO_COPY_THRESHOLD) {
      this.flush();
      this.chunks.push(v);
      this.flushedBytes += v.length;
      return this;
    }
    this.ensure(v.length);
    this.pos += v.copy(this.buf, this.pos);
    return this;
  }

  private flush(): void {
    if (this.pos === 0) return;
    this.chunks.push(this.buf.subarray(0, this.pos));
    this.flushedBytes += this.pos;
    this.buf = this.buf.subarray(this.pos);
    this.pos = 0;
  }

  private len(flexible: boolean, wide: boolean, n: number): this {
    if (flexible) return this.uvarint(n + 1);
    return wide ? this.int32(n) : this.int16(n);
  }

  nullableString(v: string | null, flexible = false): this {
    if (v === null) return this.len(flexible, false, -1);
    const n = Buffer.byteLength(v, 'utf8');
    if (!flexible && n > 0x7fff) throw new WeirError('INVALID_ARGUMENT', `a string of ${n} bytes does not fit an int16 length`);
    this.len(flexible, false, n);
    this.ensure(n);
    this.pos += this.buf.write(v, this.pos, 'utf8');
    return this;
  }

  string(v: string, flexible = false): this {
    return this.nullableString(v, flexible);
  }

  nullableBytes(v: Buffer | null, flexible = false): this {
    if (v === null) return this.len(flexible, true, -1);
    return this.len(flexible, true, v.length).raw(v);
  }

  bytes(v: Buffer, flexible = false): this {
    return this.nullableBytes(v, flexible);
  }

  /** A byte array given as several buffers (a Fetch partition's stored batches), referenced. */
  bytesFromChunks(parts: readonly Buffer[], totalLength: number, flexible = false): this {
    this.len(flexible, true, totalLength);
    for (const p of parts) this.raw(p);
    return this;
  }

  nullableArray<T>(items: readonly T[] | null, flexible: boolean, element: (w: Writer, item: T) => void): this {
    if (items === null) return flexible ? this.uvarint(0) : this.int32(-1);
    if (flexible) this.uvarint(items.length + 1);
    else this.int32(items.length);
    for (const item of items) element(this, item);
    return this;
  }

  array<T>(items: readonly T[], flexible: boolean, element: (w: Writer, item: T) => void): this {
    return this.nullableArray(items, flexible, element);
  }

  /** Tagged fields: `fields` are written in ascending tag order; none = one zero byte. */
  taggedFields(fields: ReadonlyArray<{ tag: number; write: (w: Writer) => void }> = []): this {
    this.uvarint(fields.length);
    for (const f of [...fields].sort((a, b) => a.tag - b.tag)) {
      const inner = new Writer(64);
      f.write(inner);
      const body = inner.toBuffer();
      this.uvarint(f.tag).uvarint(body.length).raw(body);
    }
    return this;
  }

  maybeTaggedFields(flexible: boolean): this {
    if (flexible) this.uvarint(0);
    return this;
  }

  /** The chunks written, in order (views: do not write to this Writer afterwards). */
  toChunks(): Buffer[] {
    this.flush();
    return this.chunks;
  }

  toBuffer(): Buffer {
    const chunks = this.toChunks();
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.flushedBytes);
  }
}
