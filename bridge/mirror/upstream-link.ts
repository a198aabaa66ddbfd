/**
 * A rule's link to its upstream through librdkafka: the producer's lifecycle (connect with
 * backoff, replace it after a fatal error, close); whether the link is up comes from librdkafka's
 * statistics (link-state.ts tells it).
 */
import type { Logger } from '../../src/logger.js';
import { brokersUp, connectProducer, disconnect, producerConfig, type ConnectFailure, type DeliveryReport, type KafkaModule, type LibrdKafkaError, type Producer } from './client.js';
import type { MirrorRuleSpec, UpstreamSpec } from './config.js';
import { LinkState, type MirrorLink } from './link-state.js';
import { LibrdkafkaSink, type RecordSink } from './record-sink.js';
import { backoffMs, raceAbort, sleep } from './waiting.js';

/** librdkafka's connect: bootstrap, (TLS, SASL,) metadata. */
const CONNECT_TIMEOUT_MS = 10_000;

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

export class UpstreamLink extends LinkState implements MirrorLink {
  private current: Producer | undefined;
  private currentSink: LibrdkafkaSink | undefined;
  private generation = 0;
  private connecting: Promise<void> | undefined;
  /** The stop signal of the connect loop and its backoffs. */
  private readonly abort = new AbortController();

  constructor(
    private readonly upstream: UpstreamSpec,
    private readonly spec: MirrorRuleSpec,
    private readonly deps: LinkDeps,
    log: Logger,
    private readonly events: LinkEvents,
  ) {
    super(log, () => events.backlog());
  }

  /** The connected producer's sink, or undefined while there is none. */
  get sink(): RecordSink | undefined {
    if (this.current === undefined) return undefined;
    if (this.currentSink === undefined) this.currentSink = new LibrdkafkaSink(this.current);
    return this.currentSink;
  }

  start(): void {
    this.connecting = this.connectLoop();
  }

  /** Stops connecting and retrying; `close()` then lets go of the producer. */
  halt(): void {
    this.abort.abort();
    this.haltState();
  }

  async close(): Promise<void> {
    await this.connecting?.catch(() => undefined);
    const p = this.current;
    this.current = undefined;
    this.currentSink = undefined;
    this.generation++;
    if (p !== undefined) await disconnect(p, 0);
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
      this.currentSink = undefined;
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
    this.currentSink = undefined;
    this.setConnected(false);
    this.events.replaced();
    if (old !== undefined) await disconnect(old, 0);
    if (!this.stopping) {
      await this.backOff(0);
      this.connecting = this.connectLoop();
    }
  }
}
