/**
 * Connections of clients that asked for no keep-alive (keep-alive 0: the server never times them
 * out [MQTT-3.1.2-24]) close once nothing has been read from them for `mqtt.idle_timeout_ms`.
 * Without it a device that vanished without a FIN (power cut, NAT timeout: a half-open
 * connection) would hold its socket, its session and a `mqtt.max_connections` slot until the
 * process restarts. Clients with a keep-alive are left to aedes, which closes them after 1.5× it.
 *
 * It is aedes's `preConnect` hook (the CONNECT packet, with its keep-alive, before anything else)
 * and one timer that looks at what each watched connection has read: the TCP socket's
 * `bytesRead` (for a WebSocket connection, its HTTP request's socket). A connection is closed
 * between `idleMs` and 1.25 × `idleMs` after its last byte.
 */
import type { AedesOptions, Client } from 'aedes';
import net from 'node:net';
import type { Logger } from '../../src/logger.js';
import type { ConnectionStats } from './stats.js';
import { WarnLimiter } from './warn-limiter.js';

interface Watched {
  bytesRead: number;
  since: number;
}

export class IdleConnections {
  private readonly watched = new Map<Client, Watched>();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly closes: WarnLimiter;

  constructor(
    private readonly idleMs: number,
    private readonly conns: ConnectionStats,
    log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.closes = new WarnLimiter({ warn: (fields, message) => log.info(fields, message) });
    if (idleMs > 0) this.timer = setInterval(() => this.sweep(), Math.max(50, idleMs / 4)).unref();
  }

  /** aedes's `preConnect`: watches a client that asks for keep-alive 0, then lets it go on. */
  readonly preConnect: NonNullable<AedesOptions['preConnect']> = (client, packet, callback) => {
    if (this.timer !== undefined && packet.keepalive === 0) {
      this.watched.set(client, { bytesRead: bytesRead(client), since: this.now() });
      client.conn.once('close', () => this.watched.delete(client));
    }
    callback(null, true);
  };

  /** Closes the watched connections that have read nothing for `idleMs`. */
  sweep(): void {
    const now = this.now();
    for (const [client, w] of this.watched) {
      const read = bytesRead(client);
      if (read !== w.bytesRead) {
        w.bytesRead = read;
        w.since = now;
      } else if (now - w.since >= this.idleMs) {
        this.watched.delete(client);
        this.conns.closedIdle++;
        this.closes.warn({ clientId: client.id, idleMs: this.idleMs, closed: this.conns.closedIdle }, 'closing connection: keep-alive 0 and nothing received for mqtt.idle_timeout_ms');
        client.conn.destroy();
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.watched.clear();
  }
}

function bytesRead(client: Client): number {
  const conn: unknown = client.conn;
  const socket = conn instanceof net.Socket ? conn : client.req?.socket;
  return socket?.bytesRead ?? 0;
}
