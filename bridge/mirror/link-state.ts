/**
 * What a rule's link to its upstream tells, whichever client it runs: whether it is connected
 * and since when, the last error, and the log lines that tell an outage in pairs (the loss with
 * its reason, then the return with the backlog to drain).
 */
import type { Logger } from '../../src/logger.js';
import type { RecordSink } from './record-sink.js';

/** How long the loss line waits for the client to say why, when the connection state saw it first. */
const LOSS_REASON_WAIT_MS = 3_000;

/** What the rule sees of its link (upstream-link.ts: librdkafka; wire-link.ts: Weir's producer). */
export interface MirrorLink {
  readonly connected: boolean;
  readonly since: number;
  lastError: { at: number; message: string } | undefined;
  /** Where the pumps hand records, or undefined while there is none. */
  readonly sink: RecordSink | undefined;
  start(): void;
  /** Stops connecting and retrying; `close()` then lets go of the client. */
  halt(): void;
  close(): Promise<void>;
  delivered(): void;
  noteError(err: unknown, what: string, detail?: string): void;
}

export abstract class LinkState {
  connected = false;
  /** When the current connected/disconnected state began. */
  since = Date.now();
  lastError: { at: number; message: string } | undefined;
  protected stopping = false;
  /** When the loss of the upstream was logged, until its return is: the return is logged with it. */
  private lostAt: number | undefined;
  /** A loss seen with no error of its own yet: logged when one comes, or after LOSS_REASON_WAIT_MS. */
  private pendingLoss: NodeJS.Timeout | undefined;

  constructor(
    protected readonly log: Logger,
    private readonly backlog: () => { records: number; partitions: number },
  ) {}

  protected haltState(): void {
    this.stopping = true;
    clearTimeout(this.pendingLoss);
    this.pendingLoss = undefined;
  }

  /** A record was acknowledged: the link is up, whatever the statistics last said. */
  delivered(): void {
    if (!this.connected) this.setConnected(true);
  }

  noteError(err: unknown, what: string, detail?: string): void {
    const message = `${what}: ${err instanceof Error ? err.message : String(err)}${detail === undefined ? '' : ` (librdkafka: ${detail})`}`;
    const repeat = this.lastError?.message === message;
    this.lastError = { at: Date.now(), message };
    if (!repeat) this.log.warn({ err }, what);
    if (this.pendingLoss !== undefined) this.logLoss(message);
  }


  /**
   * Logs the loss of the upstream and its return, in pairs. The loss line's `reason` is an error
   * noted since the link was last up: an older one (say a connect failure before the first
   * connect) says nothing about this loss. When none was noted yet (statistics can see the broker
   * down before the client reports why), the line waits up to LOSS_REASON_WAIT_MS for one.
   */
  protected setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    const upSince = this.since;
    this.connected = connected;
    this.since = Date.now();
    if (!connected) {
      if (this.lastError !== undefined && this.lastError.at >= upSince) this.logLoss(this.lastError.message);
      else this.pendingLoss = setTimeout(() => this.logLoss(null), LOSS_REASON_WAIT_MS).unref();
      return;
    }
    if (this.pendingLoss !== undefined) {
      // Back before the loss was told: nothing to tell either way.
      clearTimeout(this.pendingLoss);
      this.pendingLoss = undefined;
      return;
    }
    if (this.lostAt === undefined) return;
    const lostForMs = this.since - this.lostAt;
    this.lostAt = undefined;
    const backlog = this.backlog();
    this.log.info({ lostForMs, backlogRecords: backlog.records, partitions: backlog.partitions }, 'mirror is back in touch with the upstream; draining the backlog');
  }

  private logLoss(reason: string | null): void {
    clearTimeout(this.pendingLoss);
    this.pendingLoss = undefined;
    if (this.connected || this.stopping) return;
    this.lostAt = this.since;
    this.log.warn({ reason }, 'mirror lost the upstream; records stay in the log until it is back');
  }
}
