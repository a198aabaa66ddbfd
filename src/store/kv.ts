/**
 * Small durable key/value state for other components, in the log's own LMDB environment (one
 * `kv` named database, keys prefixed by a namespace). The MQTT bridge keeps its sessions,
 * retained messages and offline queues here (bridge/mqtt/persistence), so they share the log's
 * data directory, lock, and group of flushes.
 *
 * Keys are tuples of strings and numbers, ordered element by element (lmdb-js ordered-binary:
 * numbers numerically, strings by UTF-8 bytes), so a prefix names a range. Values are anything
 * msgpack carries (objects, strings, numbers, Buffers). Writes resolve once flushed to disk, like
 * every other write of the store; several writes started in the same tick share a transaction.
 */
import { WeirError } from '../errors.js';
import { durable, type LmdbEnv } from './lmdb-env.js';
import type { KvEntry, KvKey, KvNamespace } from './types.js';

/** Longest key LMDB takes (lmdb-js default maxKeySize 1978 bytes), with room for the prefix. */
const MAX_KEY_BYTES = 1900;
/** Sorts after every string and number in ordered-binary: closes a prefix range. */
const RANGE_END = Buffer.from([0xff]);

export class LmdbKv<V = unknown> implements KvNamespace<V> {
  constructor(
    private readonly env: LmdbEnv,
    private readonly namespace: string,
    private readonly assertOpen: () => void,
  ) {
    if (namespace === '') throw new WeirError('INVALID_ARGUMENT', 'a kv namespace must not be empty');
  }

  get(key: KvKey): V | undefined {
    return this.env.kv.get(this.full(key)) as V | undefined;
  }

  put(key: KvKey, value: V): Promise<void> {
    this.assertOpen();
    return durable(this.env.kv.put(this.full(key), value));
  }

  remove(key: KvKey): Promise<void> {
    this.assertOpen();
    return durable(this.env.kv.remove(this.full(key)));
  }

  *getRange(prefix: KvKey = []): IterableIterator<KvEntry<V>> {
    const start = this.full(prefix);
    for (const { key, value } of this.env.kv.getRange({ start, end: [...start, RANGE_END] })) {
      yield { key: (key as (string | number)[]).slice(1), value: value as V };
    }
  }

  private full(key: KvKey): (string | number)[] {
    return kvKey(this.namespace, key);
  }
}

/** The stored key of `key` in `namespace`; throws what LMDB or ordered-binary would not take. */
export function kvKey(namespace: string, key: KvKey): (string | number)[] {
  const full = [namespace, ...key];
  let bytes = 0;
  for (const part of full) {
    if (typeof part === 'string' && part.includes('\u0000')) {
      // ordered-binary separates tuple elements with a zero byte: the key would split.
      throw new WeirError('INVALID_ARGUMENT', `a kv key part in ${namespace} contains U+0000: hash or escape such strings before using them as keys`);
    }
    bytes += typeof part === 'string' ? Buffer.byteLength(part) + 1 : 9;
  }
  if (bytes > MAX_KEY_BYTES) {
    throw new WeirError('INVALID_ARGUMENT', `a kv key in ${namespace} is ${bytes} bytes, more than the ${MAX_KEY_BYTES} LMDB takes: hash long parts before using them as keys`);
  }
  return full;
}
