/**
 * Splits a TCP byte stream into Kafka request frames: int32 size, then `size` bytes (Kafka
 * protocol guide, "Common Request and Response Structure"). Chunks may split a frame anywhere
 * (even inside the size prefix) or carry several frames.
 *
 * A size below the smallest possible request header or above `maxFrameBytes` is garbage: the
 * decoder throws CORRUPT_MESSAGE as soon as the 4 size bytes are in, before buffering the body,
 * so a hostile size costs nothing (Kafka's `socket.request.max.bytes` does the same).
 *
 * Every frame's bytes are reserved (`reserve`, the listener's byte budget) the moment its size is
 * read, and the body is copied into one buffer of that size: a partial request is counted from
 * its first body byte, and a client sending one byte per packet holds one buffer, not a list of
 * tiny ones (each Buffer object costs ~100 bytes of heap). When the reservation is refused the
 * decoder is `blocked`: it keeps the unread rest of the chunk it was given and consumes nothing
 * more until `push` is called again (the owner stops reading the socket meanwhile).
 */
import { WeirError } from '../../errors.js';

/** api_key (2) + api_version (2) + correlation_id (4) + client_id length (2). */
export const MIN_FRAME_BYTES = 10;

const EMPTY = Buffer.alloc(0);

export class FrameDecoder {
  private readonly maxFrameBytes: number;
  private readonly reserve: (bytes: number) => boolean;
  private readonly sizePrefix = Buffer.alloc(4);
  private sizeFilled = 0;
  /** Size read, reservation refused: retried on the next push. */
  private blockedSize = 0;
  /** The frame being filled: reserved, allocated at its declared size. */
  private frame: Buffer | undefined;
  private filled = 0;
  /** Bytes given while blocked, not yet consumed. */
  private held: Buffer | undefined;
  /** Date.now() when the current frame's first byte arrived (or its reservation was granted); 0 when between frames or blocked. */
  private started = 0;

  constructor(maxFrameBytes: number, reserve: (bytes: number) => boolean = () => true) {
    this.maxFrameBytes = maxFrameBytes;
    this.reserve = reserve;
  }

  /** Waiting for a reservation; call `push(Buffer.alloc(0))` to retry. */
  get blocked(): boolean {
    return this.blockedSize > 0;
  }

  /** Bytes reserved for the frame still arriving. */
  get reservedBytes(): number {
    return this.frame?.length ?? 0;
  }

  /** Bytes received for an incomplete frame (or held while blocked). */
  get pendingBytes(): number {
    return this.sizeFilled + this.filled + (this.held?.length ?? 0);
  }

  /** When the incomplete frame started arriving (Date.now()), or 0: none, or blocked. */
  get partialSince(): number {
    return this.started;
  }

  /** Feed one chunk (empty to retry a refused reservation); returns the frames it completed (each without its size prefix). */
  push(chunk: Buffer): Buffer[] {
    let data = chunk;
    if (this.held !== undefined) {
      data = chunk.length === 0 ? this.held : Buffer.concat([this.held, chunk]);
      this.held = undefined;
    }
    const frames: Buffer[] = [];
    let pos = 0;
    for (;;) {
      if (this.frame === undefined) {
        if (this.blockedSize === 0) {
          if (pos >= data.length) break;
          if (this.sizeFilled === 0) this.started = Date.now();
          const k = Math.min(4 - this.sizeFilled, data.length - pos);
          data.copy(this.sizePrefix, this.sizeFilled, pos, pos + k);
          this.sizeFilled += k;
          pos += k;
          if (this.sizeFilled < 4) break;
          const size = this.sizePrefix.readInt32BE(0);
          if (size < MIN_FRAME_BYTES || size > this.maxFrameBytes) {
            throw new WeirError('CORRUPT_MESSAGE', `kafka frame size ${size} is outside [${MIN_FRAME_BYTES}, ${this.maxFrameBytes}] (kafka.socket_request_max_bytes)`, {
              details: { size, max: this.maxFrameBytes },
            });
          }
          this.sizeFilled = 0;
          this.blockedSize = size;
        }
        if (!this.reserve(this.blockedSize)) {
          if (pos < data.length) this.held = data.subarray(pos);
          this.started = 0;
          break;
        }
        if (this.started === 0) this.started = Date.now();
        this.frame = Buffer.allocUnsafe(this.blockedSize);
        this.filled = 0;
        this.blockedSize = 0;
      }
      const k = Math.min(this.frame.length - this.filled, data.length - pos);
      data.copy(this.frame, this.filled, pos, pos + k);
      this.filled += k;
      pos += k;
      if (this.filled < this.frame.length) break;
      frames.push(this.frame);
      this.frame = undefined;
      this.filled = 0;
      this.started = 0;
    }
    return frames;
  }

  /** Retry a refused reservation with the bytes held. */
  retry(): Buffer[] {
    return this.push(EMPTY);
  }
}
