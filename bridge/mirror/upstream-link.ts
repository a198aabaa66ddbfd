/**
 * A rule's link to its upstream: the librdkafka producer's lifecycle (connect with backoff,
 * replace it after a fatal error, close), whether the link is up, and the log lines that tell an
 * outage in pairs (the loss with its reason, then the return).
 */
import type { Logger } from '../../src/logger.js';
import { brokersUp, connectProducer, disconnect, producerConfig, type ConnectFailure, type DeliveryReport, type KafkaModule, type LibrdKafkaError, type Producer } from './client.js';
import type { MirrorRuleSpec, UpstreamSpec } from './config.js';
import { backoffMs, raceAbort, sleep } from './waiting.js';

/** librdkafka's connect: bootstrap, (TLS, SASL,) metadata. */
const CONNECT_TIMEOUT_MS = 10_000;
/** How long the loss line waits for the client to say why, when the statistics saw it first. */
const LOSS_REASON_WAIT_MS = 3_000;

export interface LinkDeps {
  kafka: KafkaModule;
  deviceId: string;
  backoffMinMs: number;
  backoffMaxMs: number;
}

/** What the link tells its rule. */
export interface LinkEvents {
  /** A delivery report of the current producer (an old producer's are dropped). */
  report(err: LibrdKafkaError | null, report: DeliveryReport): void;
  /** The producer was replaced: nothing sent through the old one will report any more. */
  replaced(): void;
  /** A producer is connected and takes records. */
  ready(): void;
  /** What waits to be sent, for the line that tells the link is back. */
  backlog(): { records: number; partitions: number };
}

export class UpstreamLink {
  connected = false;
  /** When the current connected/disconnected state began. */
  since = Date.now();
  lastError: { at: number; message: string } | undefined;
  private current: Producer | undefined;
  private generation = 0;
  private stopping = false;
  private connecting: Promise<void> | undefined;
  /** The stop signal of the connect loop and its backoffs. */
  private readonly abort = new AbortController();
  /** When the loss of the upstream was logged, until its return is: the return is logged with it. */
  private lostAt: number | undefined;
  /** A loss seen with no error of its own yet: logged when one comes, or after LOSS_REASON_WAIT_MS. */
  private pendingLoss: NodeJS.Timeout | undefined;

  constructor(
    private readonly upstream: UpstreamSpec,
    private readonly spec: MirrorRuleSpec,
    private readonly deps: LinkDeps,
    private readonly log: Logger,
    private readonly events: LinkEvents,
  ) {}

  /** The connected producer, or undefined while there is none. */
  get producer(): Producer | undefined {
    return this.current;
  }

  start(): void {
    this.connecting = this.connectLoop();
  }

  /** Stops connecting and retrying; `close()` then lets go of the producer. */
  halt(): void {
    this.stopping = true;
    this.abort.abort();
    clearTimeout(this.pendingLoss);
    this.pendingLoss = undefined;
  }

  async close(): Promise<void> {
    await this.connecting?.catch(() => undefined);
    const p = this.current;
    this.current = undefined;
    this.generation++;
    if (p !== undefined) await disconnect(p, 0);
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

  /** `connect()` must succeed before `produce()` works: retry with backoff and jitter until it does. */
  private async connectLoop(): Promise<void> {
    for (let attempt = 0; !this.stopping; attempt++) {
      const producer = this.newProducer(++this.generation);
      if (producer === undefined) {
        await this.backOff(attempt);
        continue;
      }
      try {
        const connected = connectProducer(producer, CONNECT_TIMEOUT_MS);
        // A stop does not wait out a connect that may take CONNECT_TIMEOUT_MS (an unreachable or
        // refusing upstream): the attempt finishes on its own, and a late success is closed.
        if ((await raceAbort(connected, this.abort.signal)) === 'aborted') {
          void connected.then(() => disconnect(producer, 0), () => undefined);
          return;
        }
      } catch (err) {
        this.noteError(err, 'cannot connect to the upstream', (err as ConnectFailure).reason);
        await this.backOff(attempt);
        continue;
      }
      this.current = producer;
      if (this.stopping) return;
      producer.setPollInterval(5);
      this.setConnected(true);
      this.log.info({ bootstrap: this.upstream.bootstrapServers }, 'mirror connected to upstream');
      this.events.ready();
      return;
    }
  }

  /** A producer of this generation with its listeners, or undefined when the client refuses the config. */
  private newProducer(gen: number): Producer | undefined {
    let producer: Producer;
    try {
      producer = new this.deps.kafka.Producer(producerConfig(this.upstream, this.spec, this.deps.deviceId));
    } catch (err) {
      this.noteError(err, 'cannot create the Kafka producer');
      return undefined;
    }
    producer.on('delivery-report', (err, report) => {
      if (gen === this.generation) this.events.report(err, report);
    });
    producer.on('event.error', (err) => this.onClientError(gen, err));
    producer.on('event.stats', (stats: { message: string }) => this.onStats(gen, stats.message));
    return producer;
  }

  private backOff(attempt: number): Promise<void> {
    return sleep(backoffMs(attempt, this.deps.backoffMinMs, this.deps.backoffMaxMs), this.abort.signal);
  }

  /**
   * Connected = some broker connection is UP, from librdkafka's statistics (once a second). The
   * binding's error events lose librdkafka's error code, so they only feed `lastError`.
   */
  private onStats(gen: number, json: string): void {
    if (gen !== this.generation || this.current === undefined) return;
    const up = brokersUp(json);
    // A malformed statistics line changes nothing.
    if (up !== undefined) this.setConnected(up);
  }

  private onClientError(gen: number, err: LibrdKafkaError): void {
    if (gen !== this.generation) return;
    // librdkafka reconnects on its own; an error here is reported, and the link state comes from stats.
    this.noteError(err, 'upstream client error');
    const fatal = err.isFatal === true || /fatal/i.test(`${err.message} ${err.stack ?? ''}`);
    if (fatal) {
      // A fatal idempotence error (e.g. the sequence state cannot be recovered): this producer is
      // done. A new one gets a new producer id; every partition resends from its cursor.
      this.log.warn({ err }, 'fatal producer error: replacing the producer, resending from the cursors');
      void this.replaceProducer();
    }
  }

  private async replaceProducer(): Promise<void> {
    this.generation++;
    const old = this.current;
    this.current = undefined;
    this.setConnected(false);
    this.events.replaced();
    if (old !== undefined) await disconnect(old, 0);
    if (!this.stopping) {
      await this.backOff(0);
      this.connecting = this.connectLoop();
    }
  }

  /**
   * Logs the loss of the upstream and its return, in pairs. The loss line's `reason` is an error
   * noted since the link was last up: an older one (say a connect failure before the first
   * connect) says nothing about this loss. When none was noted yet (statistics can see the broker
   * down before the client reports why), the line waits up to LOSS_REASON_WAIT_MS for one.
   */
  private setConnected(connected: boolean): void {
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
    const backlog = this.events.backlog();
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
