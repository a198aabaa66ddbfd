/**
 * `weir groups list|describe`: kafka-consumer-groups --list / --describe on Weir's Kafka
 * listener. Lag is the partition's log end offset (high watermark) minus the group's committed
 * offset, per partition, as Kafka computes it.
 */
import type { Admin } from 'kafkajs';
import { WeirError } from '../../errors.js';
import { CLIENT_OPTIONS, loadKafkajs, withAdmin } from '../kafka-client.js';
import { stringValue, type CommandSpec } from '../spec.js';

export interface GroupPartitionRow {
  topic: string;
  partition: number;
  /** null: assigned but nothing committed yet. */
  committed: bigint | null;
  logEnd: bigint;
  lag: bigint | null;
  memberId: string;
  host: string;
  clientId: string;
}

export interface GroupDescription {
  groupId: string;
  state: string;
  members: number;
  rows: GroupPartitionRow[];
}

/** The group's partitions: those with a committed offset and those assigned to a member now. */
export async function describeGroup(admin: Admin, groupId: string): Promise<GroupDescription> {
  const { AssignerProtocol } = await loadKafkajs();
  const described = (await admin.describeGroups([groupId])).groups[0]!;
  const owners = new Map<string, { memberId: string; host: string; clientId: string }>();
  for (const m of described.members) {
    if (m.memberAssignment.length === 0) continue;
    const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
    for (const [topic, parts] of Object.entries(a?.assignment ?? {})) {
      for (const p of parts) owners.set(`${topic}\0${p}`, { memberId: m.memberId, host: m.clientHost.replace(/^\//, ''), clientId: m.clientId });
    }
  }
  const committed = await admin.fetchOffsets({ groupId });
  const keys = new Map<string, { topic: string; partition: number; committed: bigint | null }>();
  for (const t of committed) {
    for (const p of t.partitions) {
      const off = BigInt(p.offset);
      keys.set(`${t.topic}\0${p.partition}`, { topic: t.topic, partition: p.partition, committed: off < 0n ? null : off });
    }
  }
  for (const k of owners.keys()) {
    if (!keys.has(k)) {
      const [topic, p] = k.split('\0') as [string, string];
      keys.set(k, { topic, partition: Number(p), committed: null });
    }
  }
  const topics = [...new Set([...keys.values()].map((k) => k.topic))].sort();
  const ends = new Map<string, bigint>();
  for (const topic of topics) {
    for (const o of await admin.fetchTopicOffsets(topic)) ends.set(`${topic}\0${o.partition}`, BigInt(o.high));
  }
  const rows = [...keys.entries()]
    .filter(([k]) => ends.has(k))
    .map(([k, v]): GroupPartitionRow => {
      const logEnd = ends.get(k)!;
      const owner = owners.get(k);
      return {
        ...v,
        logEnd,
        lag: v.committed === null ? null : logEnd > v.committed ? logEnd - v.committed : 0n,
        memberId: owner?.memberId ?? '-',
        host: owner?.host ?? '-',
        clientId: owner?.clientId ?? '-',
      };
    })
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  return { groupId, state: described.state, members: described.members.length, rows };
}

/** A table with columns padded to their widest cell, as kafka-consumer-groups prints. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join(' ').trimEnd()).join('\n') + '\n';
}

export function formatGroup(d: GroupDescription): string {
  if (d.state === 'Dead') return `Consumer group '${d.groupId}' does not exist.\n`;
  const head = d.members === 0 ? `\nConsumer group '${d.groupId}' has no active members.\n\n` : '\n';
  const rows = d.rows.map((r) => [
    d.groupId, r.topic, String(r.partition), r.committed === null ? '-' : String(r.committed), String(r.logEnd), r.lag === null ? '-' : String(r.lag), r.memberId, r.host, r.clientId,
  ]);
  return head + table(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'], rows);
}

export const groupsList: CommandSpec = {
  path: ['groups', 'list'],
  summary: 'List consumer groups, one name per line',
  description: ['Prints every consumer group the running Weir knows, sorted, one per line (as kafka-consumer-groups --list): groups with members, and groups that only have committed offsets.'],
  options: [...CLIENT_OPTIONS],
  examples: ['weir groups list --bootstrap-server 127.0.0.1:9092'],
  async run(values, ctx) {
    const names = await withAdmin(values, ctx, 'weir-groups', 'listing consumer groups', async (admin) => (await admin.listGroups()).groups.map((g) => g.groupId).sort());
    if (names.length > 0) ctx.stdout.write(`${names.join('\n')}\n`);
    return 0;
  },
};

export const groupsDescribe: CommandSpec = {
  path: ['groups', 'describe'],
  summary: 'Show a group\'s committed offsets, log end offsets, lag and members per partition',
  description: [
    'As kafka-consumer-groups --describe: one line per partition the group has committed an offset for or is assigned now, with CURRENT-OFFSET (committed; - when none), LOG-END-OFFSET (high watermark), LAG (the difference), and the member that owns it.',
  ],
  options: [{ name: 'group', type: 'string', placeholder: 'GROUP', doc: 'Consumer group to describe.', required: true }, ...CLIENT_OPTIONS],
  examples: ['weir groups describe --group dashboard --bootstrap-server 127.0.0.1:9092'],
  async run(values, ctx) {
    const group = stringValue(values, 'group')!;
    if (group === '') throw new WeirError('USAGE', '--group must not be empty', { details: { command: 'weir groups describe' } });
    const d = await withAdmin(values, ctx, 'weir-groups', `describing group ${group}`, (admin) => describeGroup(admin, group));
    ctx.stdout.write(formatGroup(d));
    return d.state === 'Dead' ? 1 : 0;
  },
};
