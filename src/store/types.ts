/**
 * The log store's public interface. Everything else in Weir (the MQTT bridge, the Kafka
 * listener, the mirror, the CLI) talks to the log through this, and the contract suite in
 * test/store/contract.ts runs against every implementation.
 */
import type { RecordInput } from '../kafka/protocol/record-batch.js';
import type { TopicConfig } from './topic-config.js';

export interface StoreOptions {
  /** Directory holding the LMDB environment. Created if missing. */
  dir: string;
  /** Broker-level topic defaults (Kafka's `log.*` settings), overlaid by each topic's overrides. */
  topicDefaults: TopicConfig;
  /** Partitions of a topic created without an explicit count. */
  defaultPartitions: number;
  /** Global cap on stored log bytes across all topics. */
  diskBudgetBytes: number;
  /** Cap on records queued for the next group commit (including those being committed). */
  writeQueueMaxRecords: number;
  /** Cap on bytes queued for the next group commit (including those being committed). */
  writeQueueMaxBytes: number;
  /** How long an append waits for queue room or disk budget (policy `block`) before failing. */
  blockTimeoutMs: number;
  /** How often retention runs (ms). 0 disables the timer (tests call runRetention themselves). */
  retentionCheckIntervalMs: number;
  /**
   * The log cleaner's dedupe buffer (`store.compaction_buffer_bytes`, 24 bytes a key): a partition
   * with more dirty keys than fit is compacted in several passes. Absent: 16 MiB.
   */
  compactionBufferBytes?: number;
  /**
   * How often the log cleaner looks for partitions to compact (`store.compaction_check_interval_ms`).
   * 0 or absent: no timer (tests call runCompaction themselves).
   */
  compactionCheckIntervalMs?: number;
  /** Tests only: interrupt a compaction pass between chunks, or make its chunks small. */
  compactionTestHooks?: CompactionTestHooks;
  /**
   * lmdb-js `overlappingSync`: fsync runs after the commit, outside the write lock, so the next
   * transaction can be built while the previous one flushes. Appends still resolve only after
   * their flush either way.
   */
  overlappingSync: boolean;
  /**
   * Caps on topics and partitions (`store.max_topics`, `store.max_partitions`): creating past
   * one fails with TOPIC_LIMIT_REACHED. Absent means no cap (the config always sets both).
   */
  maxTopics?: number;
  maxPartitions?: number;
  /**
   * Kafka's producer.id.expiration.ms: an idempotent producer that has written nothing to a
   * partition for this long (and has no open transaction there) is forgotten. Absent: one day.
   */
  producerIdExpirationMs?: number;
  /** Called for every record dropped by retention or overflow before a cursor passed it. */
  onDrop?: (event: DropEvent) => void;
}

export interface DropEvent {
  topic: string;
  partition: number;
  /** Offsets [fromOffset, toOffset) left the log before every cursor had passed them. */
  fromOffset: number;
  toOffset: number;
  reason: 'retention.ms' | 'retention.bytes' | 'disk-budget';
}

export interface AppendResult {
  /** Offset of the first record appended by this call. */
  baseOffset: number;
  /** Offset of the last record appended by this call. */
  lastOffset: number;
  /** Log start offset of the partition after the append. */
  logStartOffset: number;
}

/**
 * A client-built record set the store has checked (RecordLog.validateBatches), to append without
 * checking it again: its batches are views of the caller's buffer, which must not change until
 * appendValidatedBatches has been called.
 */
export interface ValidatedBatches {
  readonly topic: string;
  readonly partition: number;
  readonly batches: readonly Buffer[];
  /** Records in the set. */
  readonly records: number;
  /** The record set's bytes. */
  readonly bytes: number;
}

export interface ReadResult {
  /** Whole stored RecordBatch v2 byte arrays, in offset order. May start before the requested offset. */
  batches: Buffer[];
  /** Total bytes in `batches`. */
  bytes: number;
  logStartOffset: number;
  /** One past the last durable offset: what a read_uncommitted consumer may read up to. */
  highWatermark: number;
  /**
   * The last stable offset (KIP-98): the first offset of the oldest transaction still open, or the
   * high watermark when none is. What a read_committed consumer may read up to.
   */
  lastStableOffset: number;
}

/** Kafka's isolation levels (Fetch and ListOffsets `isolation_level`: 0 and 1). */
export type IsolationLevel = 'read_uncommitted' | 'read_committed';

/** A transaction marker to append (see kafka/protocol/control-batch.ts). */
export interface TransactionMarker {
  producerId: number;
  producerEpoch: number;
  /** true: COMMIT, false: ABORT. */
  commit: boolean;
  coordinatorEpoch: number;
}

/**
 * How a transaction ends, written in one LMDB transaction: the marker into each partition, the
 * offsets it commits, and the coordinator's record of it. A crash leaves all of it or none.
 */
export interface TransactionOutcome {
  marker: TransactionMarker;
  /** The partitions that get the marker; ones deleted meanwhile are left out. */
  partitions: { topic: string; partition: number }[];
  /** Group offsets that take effect with it (a COMMIT's TxnOffsetCommit offsets). */
  groupOffsets: { group: string; offsets: Omit<GroupOffset, 'commitTimestamp'>[] }[];
  /** Small state written with it (kv namespace, key, value). */
  kv: { namespace: string; key: KvKey; value: unknown }[];
}

/** An aborted transaction, as Fetch's aborted_transactions lists it. */
export interface AbortedTransaction {
  producerId: number;
  /** Its first offset in the partition. */
  firstOffset: number;
}

/**
 * What the log says about one idempotent or transactional producer in one partition: rebuilt
 * at open from a snapshot and the batches after it, so it survives restarts and crashes.
 */
export interface StoredProducerState {
  producerEpoch: number;
  /** Its last batches (up to 5, oldest first): sequence ranges and the offsets they got. */
  batches: { firstSeq: number; lastSeq: number; firstOffset: number; lastOffset: number }[];
  /** First offset of its open transaction in this partition, or -1 when none is open. */
  txnFirstOffset: number;
  /** Wall-clock ms of its last write here: producer.id.expiration.ms counts from it. */
  lastWriteAt: number;
}

export interface PartitionInfo {
  partition: number;
  logStartOffset: number;
  highWatermark: number;
  sizeBytes: number;
  segments: number;
  /** Present only on topics whose cleanup.policy compacts. */
  compaction?: CompactionStatus;
}

/** The log cleaner's view of one partition of a compacted topic. */
export interface CompactionStatus {
  /** Bytes not yet compacted / all bytes, over the closed segments the cleaner may compact now (0 to 1). */
  dirtyRatio: number;
  /** Wall-clock ms when the last compaction pass over the partition ended; null before the first. */
  lastCompactedAt: number | null;
  /** Bytes the cleaner has removed from the partition, in all. */
  bytesReclaimed: number;
  /**
   * The cleaner is behind: its last pass could not map every dirty key (more than
   * `store.compaction_buffer_bytes` hold; the next pass goes on), or the oldest dirty record is
   * past `max.compaction.lag.ms`.
   */
  behind: boolean;
}

export interface CompactionReport {
  partitionsCompacted: number;
  recordsRemoved: number;
  bytesReclaimed: number;
}

/** Tests only: hooks into a compaction pass. */
export interface CompactionTestHooks {
  /** Called once each chunk but the last is durable; a throw interrupts the pass there, as a crash would. */
  betweenChunks?(chunk: number): void | Promise<void>;
  /** Batch bytes per chunk (default 1 MiB). */
  chunkBytes?: number;
}

export interface TopicDescription {
  name: string;
  partitions: PartitionInfo[];
  /** Effective configs: defaults overlaid with overrides. */
  config: TopicConfig;
  /** Only the configs set on this topic. */
  overrides: Partial<TopicConfig>;
  createdAt: number;
}

export interface GroupOffset {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
}

export interface CursorPosition {
  name: string;
  topic: string;
  partition: number;
  /** Every offset below this one has been delivered by the cursor's owner. */
  offset: number;
}

export interface RetentionReport {
  segmentsDeleted: number;
  bytesDeleted: number;
  recordsDropped: number;
}

export interface StoreStats {
  usedBytes: number;
  diskBudgetBytes: number;
  queuedRecords: number;
  queuedBytes: number;
  commits: number;
  recordsAppended: number;
  /** RecordBatch bytes appended durably since the store opened (payload plus Kafka framing). */
  bytesAppended: number;
  /**
   * Payload bytes appended durably since the store opened: keys and values of records Weir
   * batched itself (MQTT ingest), whole record sets of client-built batches (Kafka produce).
   */
  payloadBytesAppended: number;
  recordsDropped: number;
  /** Topics and partitions in the store (what `store.max_topics` and `store.max_partitions` cap). */
  topics: number;
  partitions: number;
  /** Set once LMDB refused a write (disk full, I/O error): what happened and what to do. */
  storageFailure: string | undefined;
}

/** A key of a kv namespace: a tuple ordered element by element (numbers numerically, strings by bytes). */
export type KvKey = readonly (string | number)[];

export interface KvEntry<V> {
  key: (string | number)[];
  value: V;
}

/**
 * Small durable key/value state in the log's LMDB environment, for components that need more
 * than cursors and group offsets (the MQTT bridge's sessions and retained messages). Values are
 * anything msgpack carries, Buffers included.
 */
export interface KvNamespace<V = unknown> {
  get(key: KvKey): V | undefined;
  /** Resolves once flushed to disk; writes started in the same tick share a transaction. */
  put(key: KvKey, value: V): Promise<void>;
  /** Resolves once flushed to disk. Removing a missing key is not an error. */
  remove(key: KvKey): Promise<void>;
  /** Entries whose key starts with `prefix` (all by default), in key order, keys without the namespace. */
  getRange(prefix?: KvKey): IterableIterator<KvEntry<V>>;
}

/**
 * Told once how an append ended: null and the offsets once durable, or why it failed. An object
 * rather than a callback so a per-message caller (MQTT ingest) can be its own waiter, with no
 * closure per message.
 */
export interface AppendWaiter {
  appendSettled(err: unknown, result?: AppendResult): void;
}

/**
 * The store's roles. A component asks for the roles it uses (the Kafka Fetch handler a
 * `RecordLog`, the MQTT persistence a `KeyValueStore`); only the code that opens the store holds
 * the whole `LogStore`.
 */

/** The partitioned log: appends, reads, offsets. */
export interface RecordLog {
  /** Appends records built into batches by the store (group commit). Resolves once durable. */
  appendRecords(topic: string, partition: number, records: RecordInput[]): Promise<AppendResult>;
  /**
   * appendRecords for a per-message hot path (MQTT ingest): `waiter` is told once, with null and
   * the offsets once durable, or with the error; never synchronously. No promise is made.
   */
  appendRecordsTo(topic: string, partition: number, records: RecordInput[], waiter: AppendWaiter): void;
  /** Appends a client-built record set (one or more RecordBatch v2), offsets rewritten. Resolves once durable. */
  appendBatches(topic: string, partition: number, recordSet: Buffer): Promise<AppendResult>;
  /**
   * appendBatches in two steps: the checks, synchronous (throws what appendBatches would reject:
   * MESSAGE_TOO_LARGE, CORRUPT_MESSAGE, INVALID_RECORD, an unknown partition, a store that cannot
   * take writes), then the append of what they accepted. The Kafka listener checks a produce
   * before the producer's sequence is taken, as Kafka's Log.append validates before it looks at
   * producer state (KIP-98).
   */
  validateBatches(topic: string, partition: number, recordSet: Buffer): ValidatedBatches;
  appendValidatedBatches(validated: ValidatedBatches): Promise<AppendResult>;
  /** read_committed stops at the last stable offset; read_uncommitted (the default) at the high watermark. */
  read(topic: string, partition: number, offset: number, maxBytes: number, isolation?: IsolationLevel): ReadResult;
  /**
   * Resolves true when the high watermark (read_committed: the last stable offset) passes
   * `offset`, false after `timeoutMs` or on abort.
   */
  waitForData(topic: string, partition: number, offset: number, timeoutMs: number, signal?: AbortSignal, isolation?: IsolationLevel): Promise<boolean>;
  offsets(topic: string, partition: number): { logStartOffset: number; highWatermark: number; lastStableOffset: number };
  /**
   * Aborted transactions a read_committed fetch of [fromOffset, toOffset) must be told about:
   * those whose ABORT marker is at or after `fromOffset` and whose first offset is below `toOffset`.
   */
  abortedTransactions(topic: string, partition: number, fromOffset: number, toOffset: number): AbortedTransaction[];
  /** Appends a transaction marker (a control batch). Resolves once durable. */
  appendTransactionMarker(topic: string, partition: number, marker: TransactionMarker): Promise<AppendResult>;
  /** The producer's state in the partition as the log holds it, or undefined when it has none (or it expired). */
  producerState(topic: string, partition: number, producerId: number): StoredProducerState | undefined;
  /** Every partition where the log has `producerId`'s transaction open (after a restart, the truth). */
  openTransactionPartitions(producerId: number): { topic: string; partition: number }[];
  /** Ends a transaction: markers, offsets and small state in one durable LMDB transaction. */
  writeTransactionOutcome(outcome: TransactionOutcome): Promise<void>;
  /** Earliest offset whose record timestamp is >= `timestamp`, or null when there is none. */
  offsetForTimestamp(topic: string, partition: number, timestamp: number): { offset: number; timestamp: number } | null;
  /** Kafka's DeleteRecords: moves the log start offset forward. */
  deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<number>;
}

/** Topics and their partitions and configs. */
export interface TopicAdmin {
  createTopic(name: string, options?: { partitions?: number; configs?: Record<string, string> }): Promise<TopicDescription>;
  /** Throws what createTopic would refuse (name, partitions, configs, exists, caps), creating nothing. */
  checkCreateTopic(name: string, options?: { partitions?: number; configs?: Record<string, string> }): void;
  deleteTopic(name: string): Promise<void>;
  /** Sets and removes overrides (Kafka's IncrementalAlterConfigs semantics). */
  alterTopicConfigs(name: string, set: Record<string, string>, remove?: string[]): Promise<TopicDescription>;
  /** Grows a topic to `count` partitions (Kafka's CreatePartitions: never shrinks). */
  createPartitions(name: string, count: number): Promise<TopicDescription>;
  listTopics(): string[];
  hasTopic(name: string): boolean;
  describeTopic(name: string): TopicDescription;
  /** The topic's partition count, without building a description (Metadata, metrics). */
  partitionCount(name: string): number;
}

/** Named cursors over partitions (the mirror's "sent up to N"), which retention respects. */
export interface CursorStore {
  /** Registers or moves a named cursor; retention will not delete what it has not passed. */
  setCursor(name: string, topic: string, partition: number, offset: number): Promise<void>;
  getCursor(name: string, topic: string, partition: number): number | undefined;
  listCursors(): CursorPosition[];
  deleteCursor(name: string, topic: string, partition: number): Promise<void>;
}

/** Kafka consumer groups' committed offsets. */
export interface GroupOffsetStore {
  commitGroupOffsets(group: string, offsets: Omit<GroupOffset, 'commitTimestamp'>[]): Promise<void>;
  fetchGroupOffsets(group: string): GroupOffset[];
  listGroupsWithOffsets(): string[];
  deleteGroupOffsets(group: string): Promise<void>;
}

/** Small durable state of other components, in the log's environment. */
export interface KeyValueStore {
  /** A namespace of small durable key/value state (see KvNamespace). */
  kv<V = unknown>(namespace: string): KvNamespace<V>;
}

/** The store's counters and health, for status and metrics. */
export interface StoreMonitor {
  stats(): StoreStats;
}

/** The whole store: every role, and housekeeping for the one place that opens and closes it. */
export interface LogStore extends RecordLog, TopicAdmin, CursorStore, GroupOffsetStore, KeyValueStore, StoreMonitor {
  runRetention(now?: number): Promise<RetentionReport>;
  /** Compacts every due partition of a compacted topic once, one at a time (joins a run under way). */
  runCompaction(now?: number): Promise<CompactionReport>;
  close(): Promise<void>;
}
