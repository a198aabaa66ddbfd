/**
 * Watches the MQTT fixed headers going past on a connection and reports a packet whose
 * Remaining Length exceeds the limit as soon as its header arrives, before its body is buffered.
 * mqtt-packet (aedes's parser) accumulates a whole packet before parsing it, so without this a
 * client could make the broker buffer up to 256 MB for one PUBLISH.
 *
 * Fixed header [MQTT-2.2]: one byte of type and flags, then the Remaining Length as 1–4 bytes of
 * 7-bit groups, least significant first, continuation in bit 7 [MQTT-2.2.3]. Chunks may split or
 * merge packets anywhere; the guard keeps its state between chunks and never copies bytes.
 */

const enum State {
  Header,
  Length,
  Body,
}

export class FrameGuard {
  private state = State.Header;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;

  /** @param maxRemainingLength largest Remaining Length accepted, in bytes */
  constructor(private readonly maxRemainingLength: number) {}

  /** Scans a chunk; returns why the connection must close, or undefined when all is well. */
  feed(chunk: Buffer): string | undefined {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case State.Header:
          i++;
          this.state = State.Length;
          this.length = 0;
          this.multiplier = 1;
          this.lengthBytes = 0;
          break;
        case State.Length: {
          const byte = chunk[i++]!;
          this.length += (byte & 0x7f) * this.multiplier;
          this.multiplier *= 128;
          this.lengthBytes++;
          if ((byte & 0x80) !== 0) {
            // [MQTT-2.2.3] at most four bytes of Remaining Length.
            if (this.lengthBytes === 4) return 'malformed Remaining Length (more than 4 bytes)';
            break;
          }
          if (this.length > this.maxRemainingLength) {
            return `packet of ${this.length} bytes exceeds mqtt.max_packet_size (${this.maxRemainingLength})`;
          }
          this.remaining = this.length;
          this.state = this.remaining === 0 ? State.Header : State.Body;
          break;
        }
        case State.Body: {
          const take = Math.min(this.remaining, chunk.length - i);
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = State.Header;
          break;
        }
      }
    }
    return undefined;
  }
}
