/**
 * A rule's link to its upstream through Weir's own producer (wire/producer.ts, rule option
 * `client: weir`). The producer connects, reconnects and retries by itself; this link gives it
 * the rule's settings, turns its reports into the rule's delivery reports, and tells the
 * connection state (link-state.ts).
 */
import { readFileSync } from 'node:fs';
import { WeirError } from '../../src/errors.js';
import { CompressionType } from '../../src/kafka/protocol/compression.js';
import type { Logger } from '../../src/logger.js';
import { readPassword } from './client.js';
import type { MirrorCompression, MirrorRuleSpec, UpstreamSpec } from './config.js';
import type { DeliveryFailure } from './deliveries.js';
import { LinkState, type MirrorLink } from './link-state.js';
import type { SentRecord } from './partition.js';
import { WireSink, type RecordSink } from './record-sink.js';
import type { WireSecurity } from './wire/connection.js';
import { WireProducer } from './wire/producer.js';

const CONNECT_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;
/** librdkafka's batch.size default: encoded bytes a batch before compression. */
const BATCH_BYTES = 1_000_000;

const CODEC: Record<Exclude<MirrorCompression, 'zstd'>, CompressionType> = {
  none: CompressionType.None,
  gzip: CompressionType.Gzip,
  snappy: CompressionType.Snappy,
  lz4: CompressionType.Lz4,
};

export interface WireLinkDeps {
  deviceId: string;
  backoffMinMs: number;
  backoffMaxMs: number;
}

export interface WireLinkEvents {
  /** The outcome of a batch's records, in offset order. */
  report(err: DeliveryFailure | null, entries: readonly SentRecord[]): void;
  /** A producer takes records. */
  ready(): void;
  backlog(): { records: number; partitions: number };
}

export class WireLink extends LinkState implements MirrorLink {
  private producer: WireProducer | undefined;
  private wireSink: WireSink | undefined;

  constructor(
    private readonly upstream: UpstreamSpec,
    private readonly spec: MirrorRuleSpec,
    private readonly deps: WireLinkDeps,
    log: Logger,
    private readonly events: WireLinkEvents,
  ) {
    super(log, () => events.backlog());
  }

  /**
   * Records go to the producer only while it is connected: during an outage they stay in the log
   * (retention sees them as unsent, and the window does not fill with records that cannot go).
   */
  get sink(): RecordSink | undefined {
    return this.connected ? this.wireSink : undefined;
  }

  start(): void {
    if (this.spec.compression === 'zstd') throw new WeirError('CONFIG_INVALID', `mirror rule ${this.spec.name}: client weir cannot compress with zstd; use client: librdkafka or another compression`);
    const producer = new WireProducer({
      bootstrap: this.upstream.bootstrapServers,
      clientId: this.upstream.clientId.replaceAll('{device}', this.deps.deviceId),
      security: () => wireSecurity(this.upstream),
      compression: CODEC[this.spec.compression],
      batchRecords: this.spec.batchSize,
      batchBytes: BATCH_BYTES,
      lingerMs: this.spec.lingerMs,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      backoffMinMs: this.deps.backoffMinMs,
      backoffMaxMs: this.deps.backoffMaxMs,
      report: (err, opaques) => this.events.report(err, opaques as readonly SentRecord[]),
      connection: (up) => {
        if (up && !this.stopping) this.log.info({ bootstrap: this.upstream.bootstrapServers }, 'mirror connected to upstream');
        this.setConnected(up);
        if (up) this.events.ready();
      },
      problem: (err, what) => this.noteError(err, what),
    });
    this.producer = producer;
    this.wireSink = new WireSink(producer);
  }

  halt(): void {
    this.haltState();
  }

  async close(): Promise<void> {
    this.producer?.close();
    this.producer = undefined;
    this.wireSink = undefined;
  }
}

/** TLS files (PEM) and the SASL password, read at each connect (a rotated credential is picked up). */
export function wireSecurity(upstream: UpstreamSpec): WireSecurity {
  const out: WireSecurity = {};
  const read = (file: string, what: string): Buffer | undefined => {
    if (file === '') return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new WeirError('CONFIG_INVALID', `upstream "${upstream.name}": cannot read ${what} ${file}: ${(err as Error).message}; check the path and that the weir user may read it`, { cause: err });
    }
  };
  if (upstream.tls !== undefined) {
    const ca = read(upstream.tls.caFile, 'tls.ca_file');
    const cert = read(upstream.tls.certFile, 'tls.cert_file');
    const key = read(upstream.tls.keyFile, 'tls.key_file');
    out.tls = { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) };
  }
  if (upstream.sasl !== undefined) {
    out.sasl = { mechanism: upstream.sasl.mechanism, username: upstream.sasl.username, password: readPassword(upstream) };
  }
  return out;
}
