/**
 * A raw Kafka connection for tests that write exact request bytes: it collects the response
 * frames (without their size prefix) in arrival order and lets a test wait for them.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

export class RawClient {
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

  static async connect(port: number): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `n` frames have arrived (or the socket closed). */
  async waitFrames(n: number): Promise<Buffer[]> {
    while (this.frames.length < n && !this.closed) await new Promise<void>((r) => this.waiters.push(r));
    return this.frames.slice(0, n);
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

  /** Resolves once `done()` holds, re-checked on every arrival and on close. */
  async waitFor(done: () => boolean): Promise<void> {
    while (!done() && !this.closed) await new Promise<void>((r) => this.waiters.push(r));
  }

  async waitClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
  }

  write(b: Buffer): boolean {
    return this.socket.write(b);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
