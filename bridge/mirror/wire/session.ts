/**
 * The idempotent producer's session (KIP-98): a producer id and epoch from InitProducerId (no
 * transactional id), under which every partition numbers its batches from 0. A new session is
 * started at first and whenever the broker has lost the current one; a failed InitProducerId is
 * tried again with backoff.
 */
import { ApiKey } from '../../../src/kafka/protocol/api-keys.js';
import { backoffMs } from '../waiting.js';
import { ConnectionLost, type BrokerConnection } from './connection.js';
import { describeError } from './produce-errors.js';
import { INIT_PRODUCER_ID_VERSIONS, readInitProducerIdResponse, writeInitProducerIdRequest } from './requests.js';

export interface Session {
  /** Counts sessions in this process: a batch stamped in another session is not this one's. */
  readonly id: number;
  readonly producerId: number;
  readonly epoch: number;
}

export class ProducerSessions {
  current: Session | undefined;
  private started = 0;
  private pending = false;
  private retryAt = 0;
  private failures = 0;

  constructor(
    private readonly backoff: { backoffMinMs: number; backoffMaxMs: number },
    private readonly events: { ready(): void; problem(err: Error, what: string): void },
  ) {}

  /** Asks for a producer id over `conn` unless one is on its way or a retry is not due. */
  start(conn: BrokerConnection, now: number): void {
    if (this.current !== undefined || this.pending || now < this.retryAt) return;
    const version = conn.version(ApiKey.InitProducerId, INIT_PRODUCER_ID_VERSIONS.min, INIT_PRODUCER_ID_VERSIONS.max);
    if (version === undefined) {
      this.retryAt = now + this.backoff.backoffMaxMs;
      this.events.problem(new Error('the upstream serves no InitProducerId (idempotent producers need Kafka 0.11 or later)'), 'cannot start a producer session');
      return;
    }
    this.pending = true;
    conn
      .request(ApiKey.InitProducerId, version, writeInitProducerIdRequest, readInitProducerIdResponse)
      .then((res) => {
        if (res.errorCode !== 0) {
          const hint = res.errorCode === 31 ? ' (before Kafka 2.8 the principal needs the IdempotentWrite ACL on the cluster)' : '';
          throw new Error(`InitProducerId failed: ${describeError(res.errorCode, null)}${hint}`);
        }
        this.pending = false;
        this.failures = 0;
        this.current = { id: ++this.started, producerId: res.producerId, epoch: res.producerEpoch };
        this.events.ready();
      })
      .catch((err: unknown) => {
        this.pending = false;
        this.retryAt = performance.now() + backoffMs(this.failures++, this.backoff.backoffMinMs, this.backoff.backoffMaxMs);
        if (!(err instanceof ConnectionLost)) this.events.problem(err as Error, 'cannot start a producer session');
      });
  }

  /** The broker lost the session: the next `start` asks for a new producer id. */
  end(): void {
    this.current = undefined;
  }
}
