/**
 * A transactional producer running transactions back to back while Weir is SIGKILLed under it,
 * for kill-loop.test.ts, and the record of how each transaction ended as far as the application
 * knows. Transaction n writes `${prefix}-${n}-${i}` for i < size over the topic's partitions and
 * then commits, or aborts (every fourth), after a short pause that leaves it open for a while.
 * Errors are handled as librdkafka's transactional API asks: a retriable one retries the call, an
 * abortable one aborts the transaction, a fatal one (or the client's process dying) ends the
 * client, which `reopen` replaces. How a transaction ended, as the application can tell:
 *
 * - committed: commit returned: every record must be visible under read_committed;
 * - aborted: abort returned: none may be;
 * - abandoned: the client was lost before commit was asked: none may be (the next init with the
 *   transactional.id, or the transaction timeout, aborts it);
 * - unknown: the client was lost after commit was asked: all or none.
 */
import { ClientGone, TxnFailed, type TxnClient } from './txn-clients.js';

export type Outcome = 'committed' | 'aborted' | 'abandoned' | 'unknown';

export interface TxnRecord {
  producer: string;
  n: number;
  values: string[];
  planned: 'commit' | 'abort';
  /** Where the transaction is now: `outcome` once it has ended. */
  state: 'open' | 'committing' | 'aborting' | Outcome;
  /** Every record delivered (the transaction holds them in the log, open). */
  sent: boolean;
  commitAsked: boolean;
}

export interface LoopSpec {
  prefix: string;
  topic: string;
  partitions: number;
  /** A client ready for transactions (init done); called at the start and after each lost client. */
  reopen(): Promise<TxnClient>;
  /** Longest a retriable call is retried before the loop gives up (and the test fails). */
  giveUpMs: number;
  /** The pause between a transaction's records delivered and its end asked: [least, most] ms. */
  pauseMs: [number, number];
}

export class TxnLoop {
  readonly txns: TxnRecord[] = [];
  readonly errors: string[] = [];
  lostClients = 0;
  private stopping = false;
  private client: TxnClient | undefined;
  done: Promise<void> = Promise.resolve();

  constructor(private readonly spec: LoopSpec) {}

  /** The transaction under way, if any. */
  current(): TxnRecord | undefined {
    const last = this.txns.at(-1);
    return last && ['open', 'committing', 'aborting'].includes(last.state) ? last : undefined;
  }

  ended(): number {
    return this.txns.filter((t) => t.state === 'committed' || t.state === 'aborted').length;
  }

  start(): void {
    this.done = this.run();
  }

  /** Lets the transaction under way end, then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
    await this.client?.close();
  }

  private async run(): Promise<void> {
    for (let n = 0; !this.stopping; n++) {
      this.client ??= await this.spec.reopen();
      const size = 3 + Math.floor(Math.random() * 10);
      const txn: TxnRecord = {
        producer: this.spec.prefix, n, planned: n % 4 === 3 ? 'abort' : 'commit', state: 'open', sent: false, commitAsked: false,
        values: Array.from({ length: size }, (_, i) => `${this.spec.prefix}-${n}-${i}`),
      };
      this.txns.push(txn);
      try {
        await this.once(txn, this.client);
      } catch (err) {
        // The client is gone (fatal error, or its process killed): the transaction ends unseen.
        this.errors.push(err instanceof Error ? err.message : String(err));
        txn.state = txn.commitAsked ? 'unknown' : 'abandoned';
        this.lostClients++;
        await this.client.close().catch(() => undefined);
        this.client = undefined;
      }
    }
  }

  private async once(txn: TxnRecord, client: TxnClient): Promise<void> {
    await this.retrying(() => client.begin());
    try {
      const records = txn.values.map((v, i): [number, string] => [(txn.n + i) % this.spec.partitions, v]);
      await client.send(this.spec.topic, records);
      txn.sent = true;
      const [least, most] = this.spec.pauseMs;
      await new Promise((resolve) => setTimeout(resolve, least + Math.random() * (most - least)));
      if (txn.planned === 'commit') {
        txn.state = 'committing';
        await this.retrying(async () => {
          try {
            await client.commit();
          } catch (err) {
            // Asked, unless the client's process was found gone before the command reached it.
            txn.commitAsked ||= !(err instanceof ClientGone && !err.sent);
            throw err;
          }
          txn.commitAsked = true;
        });
        txn.state = 'committed';
        return;
      }
    } catch (err) {
      if (!(err instanceof TxnFailed) || !err.info.abortable) throw err;
      this.errors.push(err.message);
    }
    txn.state = 'aborting';
    await this.retrying(() => client.abort());
    txn.state = 'aborted';
  }

  private async retrying(call: () => Promise<void>): Promise<void> {
    const deadline = Date.now() + this.spec.giveUpMs;
    for (;;) {
      try {
        return await call();
      } catch (err) {
        if (!(err instanceof TxnFailed) || !err.info.retriable || Date.now() > deadline) throw err;
        this.errors.push(err.message);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }
}
