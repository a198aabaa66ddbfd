/**
 * The topic registry: topic records in LMDB, their partitions' in-memory state, and effective
 * configs (broker defaults overlaid with the topic's overrides). Partition ids are allocated from
 * a counter that never goes back, so a topic deleted and created again never sees old data.
 */
import { WeirError } from '../errors.js';
import type { Logger } from '../logger.js';
import { durable, sameTransaction, type LmdbEnv, type TopicRecord } from './lmdb-env.js';
import type { PartitionState } from './partition.js';
import { TOPIC_CONFIG_NAMES, isTopicConfigName, parseTopicConfigs, validateTopicConfig, validateTopicName, type TopicConfig } from './topic-config.js';

/** Kafka allows more, but every partition costs memory and an LMDB segment chain on a small board. */
export const MAX_PARTITIONS = 10_000;

/**
 * Caps on the whole registry (`store.max_topics`, `store.max_partitions`): every topic and
 * partition is held in memory, so their number, not the traffic, would otherwise bound the heap.
 */
export interface TopicLimits {
  maxTopics: number;
  maxPartitions: number;
}

interface TopicEntry {
  record: TopicRecord;
  config: TopicConfig;
  partitions: PartitionState[];
}

export class TopicRegistry {
  private readonly entries = new Map<string, TopicEntry>();
  /**
   * Next partition id, kept in memory: lmdb-js reads see only committed data, so reading the
   * counter from `meta` would hand two creates in the same commit window the same ids.
   */
  private nextPartitionId: number;
  /** Partitions of every topic (what `store.max_partitions` caps). */
  private partitionTotal = 0;
  /**
   * Effective configs by their overrides, shared: most topics have none or the same few (MQTT
   * ingest's flush.ms and compression.type), and V8 gives each frozen copy of a config with
   * dotted keys its own hidden class, ~0.5 KiB a topic.
   */
  private readonly configs = new Map<string, TopicConfig>();

  constructor(
    private readonly env: LmdbEnv,
    private readonly defaults: TopicConfig,
    private readonly defaultPartitions: number,
    private readonly limits: TopicLimits,
    private readonly loadPartition: (pid: number, topic: string, partition: number) => PartitionState,
  ) {
    let highest = 0;
    for (const { value } of env.topics.getRange()) {
      this.install(value);
      highest = Math.max(highest, ...value.partitionIds);
    }
    const persisted = (env.meta.get('nextPartitionId') as number | undefined) ?? 1;
    this.nextPartitionId = Math.max(persisted, highest + 1);
  }

  private install(record: TopicRecord): TopicEntry {
    const entry: TopicEntry = {
      record,
      config: this.configFor(record.overrides),
      partitions: record.partitionIds.map((pid, i) => this.loadPartition(pid, record.name, i)),
    };
    this.entries.set(record.name, entry);
    this.partitionTotal += entry.partitions.length;
    return entry;
  }

  private configFor(overrides: Partial<TopicConfig>): TopicConfig {
    const key = JSON.stringify(Object.entries(overrides).sort(([a], [b]) => (a < b ? -1 : 1)));
    let config = this.configs.get(key);
    if (config === undefined) {
      config = Object.freeze({ ...this.defaults, ...overrides });
      this.configs.set(key, config);
    }
    return config;
  }

  /** How many topics and partitions there are, against their caps. */
  counts(): { topics: number; partitions: number } & TopicLimits {
    return { topics: this.entries.size, partitions: this.partitionTotal, ...this.limits };
  }

  /** A data directory written by an older Weir or under higher caps opens anyway, and refuses to add more. */
  warnIfOverCaps(log: Logger): void {
    const counts = this.counts();
    if (counts.topics <= counts.maxTopics && counts.partitions <= counts.maxPartitions) return;
    log.warn(
      { topics: counts.topics, maxTopics: counts.maxTopics, partitions: counts.partitions, maxPartitions: counts.maxPartitions },
      'the data directory holds more topics or partitions than store.max_topics / store.max_partitions allow: no topic or partition can be created until enough are deleted (weir topics delete); each costs memory',
    );
  }

  partitionCount(name: string): number {
    return this.entry(name).partitions.length;
  }

  /** Refuses a create or grow that would take the registry past a cap (TOPIC_LIMIT_REACHED). */
  private checkLimits(topic: string, newTopics: number, newPartitions: number): void {
    const { maxTopics, maxPartitions } = this.limits;
    if (this.entries.size + newTopics > maxTopics) {
      throw new WeirError(
        'TOPIC_LIMIT_REACHED',
        `cannot create topic '${topic}': Weir holds ${this.entries.size} topics and store.max_topics is ${maxTopics}; delete unused topics (weir topics delete) or raise store.max_topics`,
        { details: { topic, limit: 'store.max_topics', max: maxTopics, current: this.entries.size } },
      );
    }
    if (this.partitionTotal + newPartitions > maxPartitions) {
      throw new WeirError(
        'TOPIC_LIMIT_REACHED',
        `cannot add ${newPartitions} partitions for topic '${topic}': Weir holds ${this.partitionTotal} partitions and store.max_partitions is ${maxPartitions}; delete unused topics (weir topics delete) or raise store.max_partitions`,
        { details: { topic, limit: 'store.max_partitions', max: maxPartitions, current: this.partitionTotal, requested: newPartitions } },
      );
    }
  }

  /** After a failed commit: rebuild every partition from disk, the only truth. */
  reloadPartitions(): void {
    for (const entry of this.entries.values()) {
      entry.partitions.forEach((p, i) => p.adopt(this.loadPartition(p.id, entry.record.name, i)));
    }
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  private entry(name: string): TopicEntry {
    const entry = this.entries.get(name);
    if (entry === undefined) {
      throw new WeirError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist; create it with: weir topics create --topic ${name}`, {
        details: { topic: name },
      });
    }
    return entry;
  }

  record(name: string): TopicRecord {
    return this.entry(name).record;
  }

  config(name: string): TopicConfig {
    return this.entry(name).config;
  }

  partitionsOf(name: string): PartitionState[] {
    return this.entry(name).partitions;
  }

  partition(name: string, partition: number): PartitionState {
    const entry = this.entry(name);
    const state = Number.isInteger(partition) ? entry.partitions[partition] : undefined;
    if (state === undefined) {
      throw new WeirError(
        'UNKNOWN_TOPIC_OR_PARTITION',
        `topic '${name}' has no partition ${partition} (it has ${entry.partitions.length}: 0..${entry.partitions.length - 1})`,
        { details: { topic: name, partition } },
      );
    }
    return state;
  }

  allPartitions(): PartitionState[] {
    return [...this.entries.values()].flatMap((e) => e.partitions);
  }

  private allocatePartitionIds(count: number): number[] {
    const next = this.nextPartitionId;
    this.nextPartitionId = next + count;
    sameTransaction(this.env.meta.put('nextPartitionId', this.nextPartitionId));
    return Array.from({ length: count }, (_, i) => next + i);
  }

  /** Throws whatever `create` would refuse, creating nothing (CreateTopics' validate_only). */
  checkCreate(name: string, partitions: number | undefined, configs: Record<string, string>): { count: number; overrides: Partial<TopicConfig> } {
    validateTopicName(name);
    const count = partitions ?? this.defaultPartitions;
    validatePartitionCount(count);
    const overrides = parseTopicConfigs(configs);
    validateTopicConfig({ ...this.defaults, ...overrides });
    if (this.entries.has(name)) {
      throw new WeirError('TOPIC_ALREADY_EXISTS', `topic '${name}' already exists`, { details: { topic: name } });
    }
    this.checkLimits(name, 1, count);
    return { count, overrides };
  }

  async create(name: string, partitions: number | undefined, configs: Record<string, string>): Promise<void> {
    const { count, overrides } = this.checkCreate(name, partitions, configs);
    const record: TopicRecord = { name, partitionIds: this.allocatePartitionIds(count), overrides, createdAt: Date.now() };
    const write = this.env.topics.put(name, record);
    this.install(record);
    await durable(write);
  }

  async alterConfigs(name: string, set: Record<string, string>, remove: string[]): Promise<void> {
    const entry = this.entry(name);
    const parsed = parseTopicConfigs(set);
    const unknown = remove.filter((key) => !isTopicConfigName(key));
    if (unknown.length > 0) {
      throw new WeirError('INVALID_CONFIG', `unknown topic config ${unknown.map((k) => `'${k}'`).join(', ')} (known: ${TOPIC_CONFIG_NAMES.join(', ')})`, {
        details: { unknown },
      });
    }
    const overrides: Record<string, unknown> = { ...entry.record.overrides, ...parsed };
    for (const key of remove) delete overrides[key];
    validateTopicConfig({ ...this.defaults, ...(overrides as Partial<TopicConfig>) });
    const record: TopicRecord = { ...entry.record, overrides: overrides as Partial<TopicConfig> };
    entry.record = record;
    entry.config = this.configFor(record.overrides);
    await durable(this.env.topics.put(name, record));
  }

  async grow(name: string, count: number): Promise<void> {
    const entry = this.entry(name);
    validatePartitionCount(count);
    const current = entry.record.partitionIds.length;
    if (count <= current) {
      throw new WeirError('INVALID_PARTITIONS', `topic '${name}' has ${current} partitions, and partitions can only grow (as in Kafka): give a count above ${current}`, {
        details: { topic: name, current, requested: count },
      });
    }
    this.checkLimits(name, 0, count - current);
    const ids = this.allocatePartitionIds(count - current);
    const record: TopicRecord = { ...entry.record, partitionIds: [...entry.record.partitionIds, ...ids] };
    entry.record = record;
    ids.forEach((pid, i) => entry.partitions.push(this.loadPartition(pid, name, current + i)));
    this.partitionTotal += ids.length;
    await durable(this.env.topics.put(name, record));
  }

  /** Forgets the topic; the caller removes its data in the same event turn. */
  remove(name: string): Promise<boolean> {
    this.partitionTotal -= this.entry(name).partitions.length;
    this.entries.delete(name);
    return this.env.topics.remove(name);
  }
}

function validatePartitionCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_PARTITIONS) {
    throw new WeirError('INVALID_PARTITIONS', `partition count ${count} is invalid: expected an integer from 1 to ${MAX_PARTITIONS}`, {
      details: { partitions: count },
    });
  }
}
