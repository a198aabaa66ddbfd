/** A clock tests advance by hand, an in-memory offset store, and join/sync shorthands. */
import { WeirError } from '../../../../src/errors.js';
import type { Clock, Timer } from '../../../../src/kafka/server/groups/clock.js';
import { GroupCoordinator } from '../../../../src/kafka/server/groups/coordinator.js';
import type { GroupCoordinatorOptions, GroupStore } from '../../../../src/kafka/server/groups/options.js';
import type { JoinGroupInput, JoinGroupResult, SyncGroupResult } from '../../../../src/kafka/server/groups/types.js';
import type { GroupOffset } from '../../../../src/store/types.js';

export class ManualClock implements Clock {
  private time = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.time;
  }

  setTimer(delayMs: number, fn: () => void): Timer {
    const id = this.seq++;
    this.timers.set(id, { at: this.time + delayMs, fn });
    return { cancel: () => this.timers.delete(id) };
  }

  /** Moves time forward, firing due timers in deadline order (each at its own instant). */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].fn();
    }
    this.time = end;
  }

  get pending(): number {
    return this.timers.size;
  }
}

/** Offsets in a Map; topics `t` (4 partitions) and `other` (1) exist. */
export class MemoryGroupStore implements GroupStore {
  readonly data = new Map<string, Map<string, GroupOffset>>();
  failNext: WeirError | null = null;
  topics = new Map([['t', 4], ['other', 1]]);

  async commitGroupOffsets(group: string, offsets: Omit<GroupOffset, 'commitTimestamp'>[]): Promise<void> {
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = null;
      throw err;
    }
    let g = this.data.get(group);
    if (!g) this.data.set(group, (g = new Map()));
    for (const o of offsets) g.set(`${o.topic}/${o.partition}`, { ...o, commitTimestamp: 0 });
  }

  fetchGroupOffsets(group: string): GroupOffset[] {
    return [...(this.data.get(group)?.values() ?? [])];
  }

  listGroupsWithOffsets(): string[] {
    return [...this.data.keys()];
  }

  offsets(topic: string, partition: number): { logStartOffset: number; highWatermark: number; lastStableOffset: number } {
    const count = this.topics.get(topic);
    if (count === undefined || partition < 0 || partition >= count) throw new WeirError('UNKNOWN_TOPIC_OR_PARTITION', `${topic}/${partition}`);
    return { logStartOffset: 0, highWatermark: 100, lastStableOffset: 100 };
  }
}

export function makeCoordinator(overrides: Partial<GroupCoordinatorOptions> = {}): { coordinator: GroupCoordinator; clock: ManualClock; store: MemoryGroupStore } {
  const clock = new ManualClock();
  const store = new MemoryGroupStore();
  let n = 0;
  const coordinator = new GroupCoordinator({
    store,
    clock,
    newMemberId: (clientId) => `${clientId}-${++n}`,
    initialRebalanceDelayMs: 0,
    ...overrides,
  });
  return { coordinator, clock, store };
}

export function joinReq(fields: Partial<JoinGroupInput> = {}): JoinGroupInput {
  return {
    groupId: 'g',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from('meta') }],
    requireKnownMemberId: false,
    clientId: 'c',
    clientHost: '/127.0.0.1',
    ...fields,
  };
}

/** A promise whose outcome can be read synchronously after `flush()`. */
export interface Tracked<T> {
  readonly done: boolean;
  readonly value: T;
}

export function track<T>(p: Promise<T>): Tracked<T> {
  const state: { done: boolean; value: T | undefined } = { done: false, value: undefined };
  void p.then((v) => {
    state.done = true;
    state.value = v;
  });
  return {
    get done() {
      return state.done;
    },
    get value(): T {
      if (!state.done) throw new Error('promise still pending');
      return state.value as T;
    },
  };
}

export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Join and wait out a rebalance that completes without the clock. */
export async function joinNow(coordinator: GroupCoordinator, fields: Partial<JoinGroupInput> = {}): Promise<JoinGroupResult> {
  return coordinator.joinGroup(joinReq(fields));
}

export async function syncNow(coordinator: GroupCoordinator, memberId: string, generationId: number, assignments: { memberId: string; assignment: Buffer }[] = []): Promise<SyncGroupResult> {
  return coordinator.syncGroup({ groupId: 'g', generationId, memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments });
}
