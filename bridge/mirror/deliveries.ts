/**
 * A rule's delivery reports: an acknowledgement moves the partition's cursor (partition.ts); a
 * retriable failure rewinds the partition to its cursor; a refusal for good (a record too large,
 * an ACL) either stops the rule or dead-letters the record (`on_refused`). A batch refused for
 * size is resent one record at a time to find the record that is too large.
 */
import type { Logger } from '../../src/logger.js';
import type { MirrorLink } from './link-state.js';
import type { MirrorRuleSpec } from './config.js';
import type { PartitionMirror, SentRecord } from './partition.js';
import type { SendWindow } from './send-window.js';

/**
 * Upstream error codes that refuse a record for what it is: retrying the same bytes cannot succeed.
 * INVALID_TIMESTAMP: a record outside the topic's message.timestamp.before/after.max.ms (an edge
 * clock that ran ahead).
 */
const RECORD_REFUSALS = new Set([10 /* MESSAGE_TOO_LARGE */, 18 /* RECORD_LIST_TOO_LARGE */, 32 /* INVALID_TIMESTAMP */, 87 /* INVALID_RECORD */]);
const AUTH_REFUSALS = new Set([17 /* INVALID_TOPIC_EXCEPTION */, 29 /* TOPIC_AUTHORIZATION_FAILED */, 31 /* CLUSTER_AUTHORIZATION_FAILED */, 44 /* POLICY_VIOLATION */]);

/** A failed delivery as either client reports it: the broker's error code (or a client's own, negative). */
export interface DeliveryFailure {
  readonly code: number;
  readonly message: string;
}

export interface RuleCounters {
  sent: number;
  acked: number;
  ackedBytes: number;
  refused: number;
  deadLettered: number;
  reconnects: number;
}

export interface DeliveryDeps {
  /** Writes a refused record to the dead-letter topic; resolves once durable. */
  deadLetter(rule: MirrorRuleSpec, pm: PartitionMirror, offset: number, reason: string): Promise<void>;
  /** Asks for the cursors to be saved soon (coalesced with the periodic save). */
  requestCursorSave(): void;
}

export class Deliveries {
  /** Set when on_refused: stop stopped the rule: why, and what to do. */
  stoppedBy: string | undefined;
  /** Records acknowledged since a cursor save was last asked for. */
  private ackedSinceSaveRequest = 0;

  constructor(
    private readonly spec: MirrorRuleSpec,
    private readonly counters: RuleCounters,
    private readonly window: SendWindow,
    private readonly link: MirrorLink,
    private readonly deps: DeliveryDeps,
    private readonly log: Logger,
  ) {}

  /** A delivery report of the current producer: `err` null or code 0 is an acknowledgement. */
  onReport(err: DeliveryFailure | null, entry: SentRecord): void {
    this.window.reported(1, entry.bytes);
    this.outcome(err, entry);
  }

  /** The reports of a whole batch (Weir's producer): the window is told once. */
  onBatchReport(err: DeliveryFailure | null, entries: readonly SentRecord[]): void {
    let bytes = 0;
    for (const entry of entries) bytes += entry.bytes;
    this.window.reported(entries.length, bytes);
    for (const entry of entries) this.outcome(err, entry);
  }

  private outcome(err: DeliveryFailure | null, entry: SentRecord): void {
    const pm = entry.pm;
    const current = pm.reported(entry);
    if (err === null || err === undefined || err.code === 0) {
      this.link.delivered();
      if (current) this.acknowledged(pm, entry);
      return;
    }
    if (!current) return;
    this.failed(pm, entry, err);
  }

  /** The upstream will never take this record: stop the rule, or dead-letter it (`on_refused`). */
  refuse(pm: PartitionMirror, entry: SentRecord, reason: string): void {
    this.counters.refused++;
    const where = `${pm.topic}[${pm.partition}] offset ${entry.offset}`;
    if (this.spec.onRefused === 'stop') {
      this.stoppedBy = `upstream refused ${where} for good: ${reason}; raise the upstream topic's limit or fix its ACLs, or set on_refused: skip for rule ${this.spec.name}, then restart Weir`;
      this.link.lastError = { at: Date.now(), message: this.stoppedBy };
      this.log.error({ topic: pm.topic, partition: pm.partition, offset: entry.offset, reason }, 'mirror rule stopped: a record was refused for good (on_refused: stop)');
      pm.fail(entry);
      return;
    }
    this.log.warn({ topic: pm.topic, partition: pm.partition, offset: entry.offset, reason, deadLetterTopic: this.spec.deadLetterTopic }, 'record refused for good: dead-lettered (on_refused: skip)');
    this.deps
      .deadLetter(this.spec, pm, entry.offset, reason)
      .then(() => {
        this.counters.deadLettered++;
        pm.complete(entry);
      })
      .catch((err: unknown) => {
        this.link.noteError(err, `cannot write ${where} to the dead-letter topic`);
        pm.fail(entry);
      });
  }

  private acknowledged(pm: PartitionMirror, entry: SentRecord): void {
    this.counters.acked++;
    this.counters.ackedBytes += entry.bytes;
    pm.complete(entry);
    // Acknowledged but not yet saved still counts against the window (SendWindow.used): save
    // well before it fills, so sending never waits for the periodic save.
    if (++this.ackedSinceSaveRequest >= this.spec.maxInFlight / 4) {
      this.ackedSinceSaveRequest = 0;
      this.deps.requestCursorSave();
    }
  }

  private failed(pm: PartitionMirror, entry: SentRecord, err: DeliveryFailure): void {
    const code = typeof err.code === 'number' ? err.code : -1;
    const forRecord = RECORD_REFUSALS.has(code);
    if ((forRecord && entry.alone) || AUTH_REFUSALS.has(code)) {
      // Refused for good, and (for a record's content) sent alone, so it is this record and not its batch.
      this.refuse(pm, entry, `${err.message} (code ${code})`);
      return;
    }
    if (forRecord) {
      // The upstream refused a whole batch: resend its records one at a time to find the culprit.
      pm.isolateUntil = Math.max(pm.isolateUntil, entry.offset + 1);
    } else this.link.noteError(err instanceof Error ? err : new Error(err.message), `upstream did not take ${pm.topic}[${pm.partition}] offset ${entry.offset}; resending from the cursor`);
    pm.fail(entry);
  }
}
