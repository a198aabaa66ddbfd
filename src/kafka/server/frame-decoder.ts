/**
 * Splits a TCP byte stream into Kafka request frames: int32 size, then `size` bytes (Kafka
 * protocol guide, "Common Request and Response Structure"). Chunks may split a frame anywhere
 * (even inside the size prefix) or carry several frames; both are handled without copying more
 * than the frame itself.
 *
 * A size below the smallest possible request header or above `maxFrameBytes` is garbage: the
 * decoder throws CORRUPT_MESSAGE as soon as the 4 size bytes are in, before buffering the body,
 * so a hostile size costs nothing (Kafka's `socket.request.max.bytes` does the same).
 */
import { WeirError } from '../../errors.js';

/** api_key (2) + api_version (2) + correlation_id (4) + client_id length (2). */
export const MIN_FRAME_BYTES = 10;

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly maxFrameBytes: number;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held for an incomplete frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Feed one chunk; returns the frames it completed (each without its size prefix). */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Buffer[] = [];
    while (this.buffered >= 4) {
      const size = this.peekSize();
      if (size < MIN_FRAME_BYTES || size > this.maxFrameBytes) {
        throw new WeirError('CORRUPT_MESSAGE', `kafka frame size ${size} is outside [${MIN_FRAME_BYTES}, ${this.maxFrameBytes}] (kafka.max_frame_bytes)`, {
          details: { size, max: this.maxFrameBytes },
        });
      }
      if (this.buffered < 4 + size) break;
      this.take(4);
      frames.push(this.take(size));
    }
    return frames;
  }

  private peekSize(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.alloc(4);
    let filled = 0;
    for (const c of this.chunks) {
      filled += c.copy(head, filled, 0, Math.min(c.length, 4 - filled));
      if (filled === 4) break;
    }
    return head.readInt32BE(0);
  }

  /** Removes `n` bytes from the front; a view when they lie in one chunk, else one copy. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let used = 0;
    // One splice at the end, not a shift per chunk: a frame split at every byte stays linear.
    while (filled < n) {
      const c = this.chunks[used]!;
      const k = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, k);
      filled += k;
      if (k === c.length) used++;
      else this.chunks[used] = c.subarray(k);
    }
    this.chunks.splice(0, used);
    this.buffered -= n;
    return out;
  }
}
