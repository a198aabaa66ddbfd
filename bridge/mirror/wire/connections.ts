/**
 * The producer's broker connections: one to each broker it sends to (by node id, at the address
 * the last metadata gave), plus one to a bootstrap server until metadata names the brokers. A
 * connection that fails is tried again with backoff and jitter; every connect re-reads the
 * security settings (a rotated password file is picked up without a restart).
 */
import { backoffMs } from '../waiting.js';
import { BrokerConnection, ConnectError, type ConnectionOptions, type WireSecurity } from './connection.js';

/** The bootstrap connection's key: not a node id (those are ≥ 0). */
export const BOOTSTRAP = -1;

export interface PoolOptions {
  bootstrap: readonly string[];
  clientId: string;
  security(): WireSecurity;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  /** A connection opened, failed to open (`err` says why) or closed. */
  changed(node: number, event: 'opened' | 'failed' | 'closed', err?: Error): void;
}

interface Slot {
  conn: BrokerConnection | undefined;
  connecting: boolean;
  failures: number;
  retryAt: number;
  retryTimer: NodeJS.Timeout | undefined;
}

export function parseHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  const host = s.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(s.slice(i + 1)) };
}

export class ConnectionPool {
  private readonly slots = new Map<number, Slot>();
  private readonly addresses = new Map<number, { host: string; port: number }>();
  private nextBootstrap = 0;
  private closed = false;

  constructor(private readonly opts: PoolOptions) {}

  /** Brokers from metadata: where each node id is. */
  setBrokers(brokers: readonly { nodeId: number; host: string; port: number }[]): void {
    for (const b of brokers) {
      const old = this.addresses.get(b.nodeId);
      this.addresses.set(b.nodeId, { host: b.host, port: b.port });
      // A broker that moved: its old connection goes, the next use connects to the new address.
      if (old !== undefined && (old.host !== b.host || old.port !== b.port)) this.slots.get(b.nodeId)?.conn?.close();
    }
  }

  /** The open connection to `node`, or undefined (and a connect is started when none is under way). */
  get(node: number): BrokerConnection | undefined {
    const slot = this.slot(node);
    if (slot.conn !== undefined && !slot.conn.closed) return slot.conn;
    this.connect(node, slot);
    return undefined;
  }

  /**
   * Any open connection; when there is none, connects to a known broker and to a bootstrap server
   * both (the cluster may have changed its brokers while it was out of reach: the bootstrap list
   * is the operator's word).
   */
  any(): BrokerConnection | undefined {
    for (const s of this.slots.values()) if (s.conn !== undefined && !s.conn.closed) return s.conn;
    const known = [...this.addresses.keys()];
    if (known.length > 0) this.get(known[Math.floor(Math.random() * known.length)]!);
    return this.get(BOOTSTRAP);
  }

  get upCount(): number {
    let n = 0;
    for (const s of this.slots.values()) if (s.conn !== undefined && !s.conn.closed) n++;
    return n;
  }

  /** Closes every connection (pending requests reject) and stops reconnecting. */
  close(): void {
    this.closed = true;
    for (const s of this.slots.values()) {
      clearTimeout(s.retryTimer);
      s.conn?.close();
    }
  }

  /**
   * Once metadata names the brokers, the bootstrap connection has done its job: it goes quietly
   * (a broker closes idle connections anyway, connections.max.idle.ms).
   */
  retireBootstrap(): void {
    const slot = this.slots.get(BOOTSTRAP);
    if (slot === undefined || this.addresses.size === 0) return;
    const conn = slot.conn;
    slot.conn = undefined;
    this.slots.delete(BOOTSTRAP);
    clearTimeout(slot.retryTimer);
    conn?.close();
  }

  private slot(node: number): Slot {
    let slot = this.slots.get(node);
    if (slot === undefined) {
      slot = { conn: undefined, connecting: false, failures: 0, retryAt: 0, retryTimer: undefined };
      this.slots.set(node, slot);
    }
    return slot;
  }

  private address(node: number): { host: string; port: number } {
    if (node !== BOOTSTRAP) {
      const a = this.addresses.get(node);
      if (a !== undefined) return a;
    }
    const list = this.opts.bootstrap;
    return parseHostPort(list[this.nextBootstrap++ % list.length]!);
  }

  private connect(node: number, slot: Slot): void {
    if (this.closed || slot.connecting) return;
    const wait = slot.retryAt - performance.now();
    if (wait > 0) {
      slot.retryTimer ??= setTimeout(() => {
        slot.retryTimer = undefined;
        this.connect(node, slot);
      }, wait).unref();
      return;
    }
    slot.connecting = true;
    let options: ConnectionOptions;
    try {
      options = { ...this.address(node), clientId: this.opts.clientId, connectTimeoutMs: this.opts.connectTimeoutMs, requestTimeoutMs: this.opts.requestTimeoutMs, ...this.opts.security() };
    } catch (err) {
      this.failed(node, slot, err as Error);
      return;
    }
    BrokerConnection.open(options).then(
      (conn) => {
        slot.connecting = false;
        if (this.closed) return conn.close();
        slot.conn = conn;
        slot.failures = 0;
        conn.onClose((err) => {
          if (slot.conn !== conn) return; // retired
          slot.conn = undefined;
          if (!this.closed) this.opts.changed(node, 'closed', err);
        });
        this.opts.changed(node, 'opened');
      },
      (err: unknown) => this.failed(node, slot, err instanceof Error ? err : new ConnectError(String(err))),
    );
  }

  private failed(node: number, slot: Slot, err: Error): void {
    slot.connecting = false;
    slot.retryAt = performance.now() + backoffMs(slot.failures++, this.opts.backoffMinMs, this.opts.backoffMaxMs);
    if (!this.closed) this.opts.changed(node, 'failed', err);
  }
}
