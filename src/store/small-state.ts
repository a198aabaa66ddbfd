/**
 * Small durable state that other components keep in the store: consumer-group committed offsets
 * (Kafka's __consumer_offsets, with the metadata string kept verbatim) and named cursors such as
 * the mirror's "delivered up to offset N". Each write resolves once it is flushed to disk.
 */
import { TxnWrites, durable, type LmdbEnv } from './lmdb-env.js';
import type { CursorPosition, GroupOffset } from './types.js';

export class SmallState {
  constructor(private readonly env: LmdbEnv) {}

  async commitGroupOffsets(group: string, offsets: Omit<GroupOffset, 'commitTimestamp'>[]): Promise<void> {
    const commitTimestamp = Date.now();
    const writes = new TxnWrites();
    for (const o of offsets) {
      writes.add(this.env.groups.put([group, o.topic, o.partition], { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestamp }));
    }
    await writes.durable();
  }

  fetchGroupOffsets(group: string): GroupOffset[] {
    const out: GroupOffset[] = [];
    for (const { key, value } of this.env.groups.getRange({ start: [group], end: [group, '\uffff'] })) {
      if (key[0] !== group) continue;
      out.push({ topic: key[1], partition: key[2], ...value });
    }
    return out;
  }

  listGroupsWithOffsets(): string[] {
    const groups = new Set<string>();
    for (const key of this.env.groups.getKeys()) groups.add(key[0]);
    return [...groups];
  }

  async deleteGroupOffsets(group: string): Promise<void> {
    const writes = new TxnWrites();
    for (const o of this.fetchGroupOffsets(group)) writes.add(this.env.groups.remove([group, o.topic, o.partition]));
    await writes.durable();
  }

  setCursor(name: string, topic: string, partition: number, offset: number): Promise<void> {
    return durable(this.env.cursors.put([name, topic, partition], offset));
  }

  getCursor(name: string, topic: string, partition: number): number | undefined {
    return this.env.cursors.get([name, topic, partition]);
  }

  listCursors(): CursorPosition[] {
    return [...this.env.cursors.getRange()].map(({ key, value }) => ({ name: key[0], topic: key[1], partition: key[2], offset: value }));
  }

  deleteCursor(name: string, topic: string, partition: number): Promise<void> {
    return durable(this.env.cursors.remove([name, topic, partition]));
  }
}
