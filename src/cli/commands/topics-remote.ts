/**
 * `weir topics …` with --bootstrap-server: the same commands through a running Weir's Kafka
 * admin APIs (Metadata, ListOffsets, CreateTopics, DeleteTopics, CreatePartitions,
 * DescribeConfigs, AlterConfigs) instead of opening the data directory, which the running
 * broker holds locked.
 */
import type { Admin } from 'kafkajs';
import { WeirError } from '../../errors.js';
import { loadKafkajs } from '../kafka-client.js';
import { plural } from './topics-common.js';

/** Weir is one node: Kafka's --replication-factor is accepted for scripts, and must be 1. */
export function checkReplicationFactor(raw: string | undefined, command: string): void {
  if (raw !== undefined && raw.trim() !== '1') {
    throw new WeirError('USAGE', `--replication-factor ${raw} is invalid: Weir is a single node, so every partition has exactly 1 replica`, { details: { command } });
  }
}

export async function remoteList(admin: Admin): Promise<string[]> {
  return (await admin.listTopics()).filter((t) => !t.startsWith('__')).sort();
}

const CONFIG_SOURCE_DYNAMIC_TOPIC = 1;

interface RemoteConfig {
  name: string;
  value: string;
  override: boolean;
}

async function topicConfigsOf(admin: Admin, topic: string): Promise<RemoteConfig[]> {
  const { ConfigResourceTypes } = await loadKafkajs();
  const r = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
  const entries = r.resources[0]?.configEntries ?? [];
  return entries.map((e) => ({
    name: e.configName,
    value: e.configValue,
    override: (e as { configSource?: number }).configSource === CONFIG_SOURCE_DYNAMIC_TOPIC || e.isDefault === false,
  }));
}

export async function remoteDescribe(admin: Admin, topic: string): Promise<string> {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const t = meta.topics[0]!;
  const offsets = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o]));
  const lines = [`Topic: ${topic}\tPartitionCount: ${t.partitions.length}\tReplicationFactor: 1`];
  for (const p of [...t.partitions].sort((a, b) => a.partitionId - b.partitionId)) {
    const o = offsets.get(p.partitionId);
    lines.push(`\tPartition: ${p.partitionId}\tLeader: ${p.leader}\tLogStartOffset: ${o?.low ?? '?'}\tHighWatermark: ${o?.high ?? '?'}`);
  }
  lines.push(`Configs for topic ${topic} (override: set on this topic; default: from topic_defaults):`);
  for (const c of await topicConfigsOf(admin, topic)) lines.push(`\t${c.name}=${c.value}\t${c.override ? 'override' : 'default'}`);
  return `${lines.join('\n')}\n`;
}

export async function remoteCreate(
  admin: Admin,
  topic: string,
  partitions: number | undefined,
  configs: Record<string, string>,
  ifNotExists: boolean,
): Promise<string | undefined> {
  const created = await admin.createTopics({
    waitForLeaders: false,
    topics: [{ topic, numPartitions: partitions ?? -1, replicationFactor: -1, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
  });
  if (!created) {
    if (ifNotExists) return undefined;
    throw new WeirError('TOPIC_ALREADY_EXISTS', `topic ${topic} already exists`, { details: { topic } });
  }
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  return `Created topic ${topic} with ${plural(meta.topics[0]!.partitions.length, 'partition')}.`;
}

export async function remoteDelete(admin: Admin, topic: string, ifExists: boolean, broker: string): Promise<boolean> {
  if (!(await admin.listTopics()).includes(topic)) {
    if (ifExists) return false;
    throw new WeirError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topic} does not exist on the broker at ${broker}`, {
      details: { topic, hint: `'weir topics list --bootstrap-server ${broker}' shows the topics on that broker; --if-exists makes deleting a missing topic succeed.` },
    });
  }
  await admin.deleteTopics({ topics: [topic] });
  return true;
}

/**
 * Grows partitions (CreatePartitions) and changes configs. Kafka's AlterConfigs replaces a
 * topic's whole set of overrides, so the new set is the current overrides (DescribeConfigs),
 * plus --config, minus --delete-config.
 */
export async function remoteAlter(admin: Admin, topic: string, partitions: number | undefined, set: Record<string, string>, remove: string[]): Promise<string[]> {
  const done: string[] = [];
  if (partitions !== undefined) {
    const before = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.length;
    // Checked here: through kafkajs the broker's refusal reaches the user only as INVALID_PARTITIONS.
    if (partitions <= before) {
      throw new WeirError('INVALID_PARTITIONS', `topic ${topic} has ${before} partitions, and partitions can only grow (as in Kafka): give --partitions above ${before}`, {
        details: { topic, current: before, requested: partitions, hint: `'weir topics describe --topic ${topic}' shows the partitions; to have fewer, create a new topic and move the data.` },
      });
    }
    await admin.createPartitions({ topicPartitions: [{ topic, count: partitions }] });
    done.push(`partitions ${before} -> ${partitions}`);
  }
  if (Object.keys(set).length > 0 || remove.length > 0) {
    const current = (await topicConfigsOf(admin, topic)).filter((c) => c.override);
    const next = new Map(current.map((c) => [c.name, c.value]));
    for (const k of remove) next.delete(k);
    for (const [k, v] of Object.entries(set)) next.set(k, v);
    const { ConfigResourceTypes } = await loadKafkajs();
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [...next].map(([name, value]) => ({ name, value })) }],
    });
    for (const [k, v] of Object.entries(set)) done.push(`set ${k}=${v}`);
    for (const k of remove) done.push(`removed override ${k}`);
  }
  return done;
}
