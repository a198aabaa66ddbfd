/**
 * Subscriptions of persistent sessions (clean=false) [MQTT-3.1.2-4]: on disk, and in memory as
 * aedes-persistence keeps them (per client, plus a topic trie of the QoS > 0 ones, which is what
 * a PUBLISH is matched against to queue it for clients that are away).
 */
import type { Logger } from '../../../src/logger.js';
import type { KvNamespace } from '../../../src/store/types.js';
import { keyPart } from './keys.js';
import { subscriptionTrie, type QlobberSubTrie, type TrieSub } from './qlobber.js';

export interface SubscriptionInput {
  topic: string;
  qos: number;
  rh?: number;
  rap?: boolean;
  nl?: boolean;
  /** MQTT 5.0 Subscription Identifier: kept per client, not in the trie (as aedes-persistence). */
  subscriptionIdentifier?: number;
}

type StoredSub = Omit<SubscriptionInput, 'topic'>;

interface DiskSub extends StoredSub {
  clientId: string;
  topic: string;
}

export class Subscriptions {
  private readonly byClient = new Map<string, Map<string, StoredSub>>();
  private readonly trie: QlobberSubTrie = subscriptionTrie();

  constructor(private readonly kv: KvNamespace, _log: Logger) {
    for (const { value } of kv.getRange(['s'])) {
      const { clientId, topic, ...sub } = value as DiskSub;
      this.addInMemory(clientId, { topic, ...sub });
    }
  }

  get clients(): number {
    return this.byClient.size;
  }

  get count(): number {
    return this.trie.subscriptionsCount;
  }

  async add(clientId: string, subs: readonly SubscriptionInput[]): Promise<void> {
    const writes: Promise<void>[] = [];
    for (const sub of subs) {
      const record = this.addInMemory(clientId, sub);
      writes.push(this.kv.put(['s', keyPart(clientId), keyPart(sub.topic)], { clientId, topic: sub.topic, ...record } satisfies DiskSub));
    }
    await Promise.all(writes);
  }

  async remove(clientId: string, topics: readonly string[]): Promise<void> {
    const stored = this.byClient.get(clientId);
    if (stored === undefined) return;
    const writes: Promise<void>[] = [];
    for (const topic of topics) {
      const sub = stored.get(topic);
      if (sub === undefined) continue;
      if (sub.qos > 0) this.trie.remove(topic, { clientId, topic });
      stored.delete(topic);
      writes.push(this.kv.remove(['s', keyPart(clientId), keyPart(topic)]));
    }
    if (stored.size === 0) this.byClient.delete(clientId);
    await Promise.all(writes);
  }

  byClientId(clientId: string): SubscriptionInput[] {
    const stored = this.byClient.get(clientId);
    return stored === undefined ? [] : [...stored].map(([topic, sub]) => ({ topic, ...sub }));
  }

  /**
   * QoS > 0 subscriptions whose filter matches `topic`. aedes asks this for every PUBLISH; on a
   * gateway where no persistent session subscribes (the common case) the trie is empty, and
   * matching would still split the topic into levels each time.
   */
  matching(topic: string): TrieSub[] {
    if (this.trie.subscriptionsCount === 0) return [];
    return this.trie.match(topic);
  }

  clientsSubscribedTo(topic: string): string[] {
    const out: string[] = [];
    for (const [clientId, stored] of this.byClient) if (stored.has(topic)) out.push(clientId);
    return out;
  }

  async clean(clientId: string): Promise<void> {
    const stored = this.byClient.get(clientId);
    if (stored === undefined) return;
    await this.remove(clientId, [...stored.keys()]);
  }

  private addInMemory(clientId: string, sub: SubscriptionInput): StoredSub {
    let stored = this.byClient.get(clientId);
    if (stored === undefined) {
      stored = new Map();
      this.byClient.set(clientId, stored);
    }
    const record: StoredSub = { qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl };
    if (sub.subscriptionIdentifier !== undefined) record.subscriptionIdentifier = sub.subscriptionIdentifier;
    const previous = stored.get(sub.topic);
    if (sub.qos > 0) {
      this.trie.add(sub.topic, { clientId, topic: sub.topic, qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl });
    } else if (previous !== undefined && previous.qos > 0) {
      this.trie.remove(sub.topic, { clientId, topic: sub.topic });
    }
    stored.set(sub.topic, record);
    return record;
  }
}
