/**
 * One mirror rule: one producer to its upstream (wire-link.ts: Weir's own; upstream-link.ts:
 * librdkafka's, by the rule's `client`), a pump per mirrored
 * partition (pumps.ts) sharing the rule's send window (send-window.ts) and rate limit
 * (rate-limit.ts), and the delivery reports that move each partition's cursor (deliveries.ts).
 */
import type { Logger } from '../../src/logger.js';
import type { RecordLog } from '../../src/store/types.js';
import { loadKafkaClient, type KafkaModule } from './client.js';
import type { MirrorRuleSpec, UpstreamSpec } from './config.js';
import { Deliveries, type DeliveryDeps, type RuleCounters } from './deliveries.js';
import { ExactlyOnceSender } from './exactly-once.js';
import type { PartitionMirror, SentRecord } from './partition.js';
import { Pumps } from './pumps.js';
import { ByteRateLimit } from './rate-limit.js';
import { SendWindow } from './send-window.js';
import type { MirrorLink } from './link-state.js';
import { UpstreamLink } from './upstream-link.js';
import { WireLink } from './wire-link.js';
import { sleep } from './waiting.js';

export { ORIGIN_HEADERS } from './pumps.js';
export type { RuleCounters } from './deliveries.js';

export interface RuleDeps extends DeliveryDeps {
  store: Pick<RecordLog, 'offsets' | 'read' | 'waitForData' | 'abortedTransactions'>;
  /** librdkafka's binding; loaded here when undefined and a rule needs it (client: librdkafka, exactly-once). */
  kafka: KafkaModule | undefined;
  logger: Logger;
  deviceId: string;
  backoffMinMs: number;
  backoffMaxMs: number;
}

export class RuleMirror {
  readonly partitions: PartitionMirror[] = [];
  readonly counters: RuleCounters = { sent: 0, acked: 0, ackedBytes: 0, refused: 0, deadLettered: 0, reconnects: 0 };
  private readonly link: MirrorLink;
  private readonly window: SendWindow;
  private readonly deliveries: Deliveries;
  private readonly pumps: Pumps;
  /** Set for `delivery: exactly-once`: it sends instead of the pumps (exactly-once.ts). */
  readonly exactlyOnce: ExactlyOnceSender | undefined;

  constructor(
    readonly spec: MirrorRuleSpec,
    readonly upstream: UpstreamSpec,
    deps: RuleDeps,
  ) {
    const log = deps.logger.child({ component: 'mirror', rule: spec.name, upstream: upstream.name });
    this.window = new SendWindow(spec, this.partitions);
    const backlog = (): { records: number; partitions: number } => ({ records: this.backlogRecords(deps.store), partitions: this.partitions.length });
    this.link =
      spec.client === 'weir'
        ? new WireLink(upstream, spec, deps, log, { report: (err, entries) => this.deliveries.onBatchReport(err, entries), ready: () => this.wakeAll(), backlog })
        : new UpstreamLink(upstream, spec, { ...deps, kafka: deps.kafka ?? loadKafkaClient() }, log, {
            report: (err, report) => this.deliveries.onReport(err, report.opaque as SentRecord),
            replaced: () => this.producerReplaced(),
            ready: () => this.wakeAll(),
            backlog,
          });
    this.deliveries = new Deliveries(spec, this.counters, this.window, this.link, deps, log);
    const { link, window, deliveries, counters } = this;
    this.pumps = new Pumps(this.partitions, { ...deps, spec, counters, link, window, deliveries, rateLimit: new ByteRateLimit(spec.maxBytesPerSecond), log });
    if (spec.delivery === 'exactly-once') this.exactlyOnce = new ExactlyOnceSender(spec, upstream, this.partitions, counters, { ...deps, kafka: deps.kafka ?? loadKafkaClient() }, log);
  }

  get connected(): boolean {
    return this.exactlyOnce?.connected ?? this.link.connected;
  }

  /** When the current connected/disconnected state began. */
  get since(): number {
    return this.exactlyOnce?.since ?? this.link.since;
  }

  get lastError(): { at: number; message: string } | undefined {
    return this.exactlyOnce?.lastError ?? this.link.lastError;
  }

  /** Set when on_refused: stop stopped the rule: why, and what to do. */
  get stoppedBy(): string | undefined {
    return this.exactlyOnce?.stoppedBy ?? this.deliveries.stoppedBy;
  }

  get inFlightRecords(): number {
    return this.exactlyOnce?.inFlight ?? this.window.inFlight;
  }

  start(): void {
    if (this.exactlyOnce !== undefined) this.exactlyOnce.start();
    else this.link.start();
  }

  addPartition(pm: PartitionMirror): void {
    this.partitions.push(pm);
    if (this.exactlyOnce !== undefined) this.exactlyOnce.wake();
    else this.pumps.add(pm);
  }

  /** Cursors were saved: what they covered no longer counts against the window. */
  cursorsSaved(): void {
    this.window.cursorsSaved();
  }

  /** Stops reading, waits up to `timeoutMs` for reports of what was sent, then disconnects. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.exactlyOnce !== undefined) return this.exactlyOnce.stop(timeoutMs);
    this.link.halt();
    this.window.wakeAll();
    await this.pumps.stop();
    const deadline = Date.now() + timeoutMs;
    while (this.window.inFlight > 0 && Date.now() < deadline) await sleep(Math.min(50, deadline - Date.now()));
    await this.link.close();
  }

  private wakeAll(): void {
    this.window.wakeAll();
    this.pumps.wake();
  }

  /** Nothing sent through the old producer will report: every partition resends from its cursor. */
  private producerReplaced(): void {
    this.counters.reconnects++;
    this.window.clear();
    for (const pm of this.partitions) pm.reset();
  }

  private backlogRecords(store: Pick<RecordLog, 'offsets'>): number {
    let records = 0;
    for (const pm of this.partitions) {
      try {
        const { logStartOffset, lastStableOffset } = store.offsets(pm.topic, pm.partition);
        records += Math.max(0, lastStableOffset - Math.max(pm.cursor, logStartOffset));
      } catch {
        // A deleted topic has no backlog.
      }
    }
    return records;
  }
}
