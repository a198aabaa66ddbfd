/**
 * A raw MQTT 3.1.1 client for tests that need exact bytes on the wire: retransmissions with the
 * DUP flag, malformed packets, oversize Remaining Lengths. It writes packets built by hand
 * (MQTT 3.1.1 §3) and reads back whatever the broker sends.
 */
import net from 'node:net';

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function packet(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), remainingLength(body.length), body]);
}

/** CONNECT, protocol level 4, clean session unless told, keepalive 60 s unless told [MQTT-3.1]. */
export function connectPacket(clientId: string, opts: { clean?: boolean; keepalive?: number } = {}): Buffer {
  const flags = opts.clean === false ? 0x00 : 0x02;
  return packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, flags]), u16(opts.keepalive ?? 60), str(clientId)]));
}

/** PUBLISH [MQTT-3.3]: flags are DUP (bit 3), QoS (bits 2–1), RETAIN (bit 0). */
export function publishPacket(topic: string | Buffer, payload: Buffer, opts: { qos: 0 | 1 | 2; id?: number; dup?: boolean }): Buffer {
  const flags = (opts.dup === true ? 0x08 : 0) | (opts.qos << 1);
  const id = opts.qos > 0 ? u16(opts.id ?? 1) : Buffer.alloc(0);
  return packet(0x30 | flags, Buffer.concat([typeof topic === 'string' ? str(topic) : rawStr(topic), id, payload]));
}

/** SUBSCRIBE [MQTT-3.8]: fixed header flags must be 0010; one filter with its requested QoS. */
export function subscribePacket(filter: string | Buffer, qos: 0 | 1 | 2, id = 1): Buffer {
  return packet(0x82, Buffer.concat([u16(id), typeof filter === 'string' ? str(filter) : rawStr(filter), Buffer.from([qos])]));
}

/** A string field from raw bytes (which need not be valid UTF-8). */
export function rawStr(bytes: Buffer): Buffer {
  return Buffer.concat([u16(bytes.length), bytes]);
}

/** PUBREL [MQTT-3.6]: fixed header flags must be 0010. */
export function pubrelPacket(id: number): Buffer {
  return packet(0x62, u16(id));
}

export class RawClient {
  private received = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => {
      for (const w of this.waiters.splice(0)) w();
      resolve();
    }));
  }

  static async connect(port: number, clientId?: string, opts: { clean?: boolean; keepalive?: number } = {}): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const c = new RawClient(socket);
    if (clientId !== undefined) {
      c.write(connectPacket(clientId, opts));
      const connack = await c.read(4);
      if (!connack.equals(Buffer.from([0x20, 0x02, 0x00, 0x00]))) throw new Error(`unexpected CONNACK ${connack.toString('hex')}`);
    }
    return c;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves with exactly `n` bytes from the broker; rejects if the connection closes first. */
  async read(n: number): Promise<Buffer> {
    while (this.received.length < n) {
      if (this.socket.destroyed || this.socket.readableEnded) throw new Error(`connection closed with ${this.received.length}/${n} bytes read`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    const out = this.received.subarray(0, n);
    this.received = this.received.subarray(n);
    return out;
  }

  end(): void {
    this.socket.destroy();
  }
}

/** A client that SUBSCRIBEs to one filter, checks its SUBACK, then stops reading its socket. */
export async function stalledSubscriber(port: number, clientId: string, filter: string, qos: 0 | 1, clean: boolean): Promise<RawClient> {
  const sub = await RawClient.connect(port, clientId, { clean });
  sub.write(subscribePacket(filter, qos));
  const suback = (await sub.read(5)).toString('hex');
  if (suback !== `90030001${qos.toString(16).padStart(2, '0')}`) {
    sub.end();
    throw new Error(`unexpected SUBACK ${suback}`);
  }
  sub.socket.pause();
  return sub;
}
