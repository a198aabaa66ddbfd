/**
 * The group APIs' codecs. Classic versions: kafkajs's own request encoders and response
 * decoders (an independent implementation) on every version kafkajs has. Flexible versions,
 * which kafkajs never sends: hand-assembled golden bytes, field by field from the grammar.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { decodeDescribeGroupsRequest, encodeDescribeGroupsResponse } from '../../../../src/kafka/protocol/apis/describe-groups.js';
import { decodeFindCoordinatorRequest, encodeFindCoordinatorResponse } from '../../../../src/kafka/protocol/apis/find-coordinator.js';
import { decodeHeartbeatRequest, encodeHeartbeatResponse } from '../../../../src/kafka/protocol/apis/heartbeat.js';
import { decodeJoinGroupRequest, encodeJoinGroupResponse } from '../../../../src/kafka/protocol/apis/join-group.js';
import { decodeLeaveGroupRequest, encodeLeaveGroupResponse } from '../../../../src/kafka/protocol/apis/leave-group.js';
import { decodeListGroupsRequest, encodeListGroupsResponse } from '../../../../src/kafka/protocol/apis/list-groups.js';
import { decodeOffsetCommitRequest, encodeOffsetCommitResponse } from '../../../../src/kafka/protocol/apis/offset-commit.js';
import { decodeOffsetFetchRequest, encodeOffsetFetchResponse } from '../../../../src/kafka/protocol/apis/offset-fetch.js';
import { decodeSyncGroupRequest, encodeSyncGroupResponse } from '../../../../src/kafka/protocol/apis/sync-group.js';
import { Reader } from '../../../../src/kafka/protocol/reader.js';
import { Writer } from '../../../../src/kafka/protocol/writer.js';

const require = createRequire(import.meta.url);

interface KafkajsRequest {
  apiVersion: number;
  encode(): Promise<{ buffer: Buffer }>;
}
type KafkajsRequestFactory = (args: Record<string, unknown>) => KafkajsRequest;
interface KafkajsResponse {
  decode(raw: Buffer): Promise<Record<string, unknown>>;
}

function kafkajs(api: string, version: number): { request: KafkajsRequestFactory; response: KafkajsResponse } {
  const base = `kafkajs/src/protocol/requests/${api}/v${version}`;
  return { request: require(`${base}/request`) as KafkajsRequestFactory, response: require(`${base}/response`) as KafkajsResponse };
}

async function requestBody(api: string, version: number, args: Record<string, unknown>): Promise<Reader> {
  const req = kafkajs(api, version).request(args);
  expect(req.apiVersion).toBe(version);
  return new Reader((await req.encode()).buffer);
}

function written(write: (w: Writer) => void): Buffer {
  const w = new Writer();
  write(w);
  return w.toBuffer();
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('classic versions against kafkajs', () => {
  it.each(range(0, 5))('JoinGroup v%i', async (v) => {
    const r = await requestBody('joinGroup', v, {
      groupId: 'g', sessionTimeout: 30_000, rebalanceTimeout: 60_000, memberId: 'm', groupInstanceId: 'inst',
      protocolType: 'consumer', groupProtocols: [{ name: 'range', metadata: Buffer.from([1, 2]) }],
    });
    expect(decodeJoinGroupRequest(r, v)).toEqual({
      groupId: 'g', sessionTimeoutMs: 30_000, rebalanceTimeoutMs: v >= 1 ? 60_000 : 30_000, memberId: 'm',
      groupInstanceId: v >= 5 ? 'inst' : null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from([1, 2]) }],
    });
    expect(r.remaining).toBe(0);
    const body = written((w) => encodeJoinGroupResponse(w, v, {
      errorCode: 0, generationId: 3, protocolType: 'consumer', protocolName: 'range', leader: 'm', memberId: 'm',
      members: [{ memberId: 'm', groupInstanceId: 'inst', metadata: Buffer.from([9]) }],
    }));
    const decoded = await kafkajs('joinGroup', v).response.decode(body);
    expect(decoded).toMatchObject({ errorCode: 0, generationId: 3, groupProtocol: 'range', leaderId: 'm', memberId: 'm' });
    expect(decoded.members).toMatchObject([{ memberId: 'm', memberMetadata: Buffer.from([9]) }]);
  });

  it.each(range(0, 3))('SyncGroup v%i', async (v) => {
    const r = await requestBody('syncGroup', v, { groupId: 'g', generationId: 2, memberId: 'm', groupInstanceId: 'i', groupAssignment: [{ memberId: 'm', memberAssignment: Buffer.from('A') }] });
    expect(decodeSyncGroupRequest(r, v)).toEqual({
      groupId: 'g', generationId: 2, memberId: 'm', groupInstanceId: v >= 3 ? 'i' : null, protocolType: null, protocolName: null,
      assignments: [{ memberId: 'm', assignment: Buffer.from('A') }],
    });
    expect(r.remaining).toBe(0);
    const body = written((w) => encodeSyncGroupResponse(w, v, { errorCode: 0, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.from('A') }));
    expect(await kafkajs('syncGroup', v).response.decode(body)).toMatchObject({ errorCode: 0, memberAssignment: Buffer.from('A') });
  });

  it.each(range(0, 3))('Heartbeat v%i', async (v) => {
    const r = await requestBody('heartbeat', v, { groupId: 'g', groupGenerationId: 2, memberId: 'm', groupInstanceId: 'i' });
    expect(decodeHeartbeatRequest(r, v)).toEqual({ groupId: 'g', generationId: 2, memberId: 'm', groupInstanceId: v >= 3 ? 'i' : null });
    expect(r.remaining).toBe(0);
    expect(await kafkajs('heartbeat', v).response.decode(written((w) => encodeHeartbeatResponse(w, v, 27)))).toMatchObject({ errorCode: 27 });
  });

  it.each(range(0, 3))('LeaveGroup v%i', async (v) => {
    const r = await requestBody('leaveGroup', v, { groupId: 'g', memberId: 'm', members: [{ memberId: 'm', groupInstanceId: 'i' }] });
    expect(decodeLeaveGroupRequest(r, v)).toEqual({ groupId: 'g', members: [{ memberId: 'm', groupInstanceId: v >= 3 ? 'i' : null }] });
    expect(r.remaining).toBe(0);
    const body = written((w) => encodeLeaveGroupResponse(w, v, { errorCode: 0, members: [{ memberId: 'm', groupInstanceId: 'i', errorCode: 25 }] }));
    const decoded = await kafkajs('leaveGroup', v).response.decode(body);
    if (v >= 3) expect(decoded).toMatchObject({ errorCode: 0, members: [{ memberId: 'm', groupInstanceId: 'i', errorCode: 25 }] });
    else expect(decoded).toMatchObject({ errorCode: 25 });
  });

  it.each(range(2, 5))('OffsetCommit v%i', async (v) => {
    const r = await requestBody('offsetCommit', v, {
      groupId: 'g', groupGenerationId: 4, memberId: 'm', retentionTime: -1,
      topics: [{ topic: 't', partitions: [{ partition: 1, offset: '42', metadata: 'meta' }, { partition: 2, offset: '7' }] }],
    });
    expect(decodeOffsetCommitRequest(r, v)).toEqual({
      groupId: 'g', generationId: 4, memberId: 'm', groupInstanceId: null,
      topics: [{ name: 't', partitions: [
        { partitionIndex: 1, committedOffset: 42, committedLeaderEpoch: -1, committedMetadata: 'meta' },
        { partitionIndex: 2, committedOffset: 7, committedLeaderEpoch: -1, committedMetadata: null },
      ] }],
    });
    expect(r.remaining).toBe(0);
    const body = written((w) => encodeOffsetCommitResponse(w, v, { topics: [{ name: 't', partitions: [{ partitionIndex: 1, errorCode: 22 }] }] }));
    expect(await kafkajs('offsetCommit', v).response.decode(body)).toMatchObject({ responses: [{ topic: 't', partitions: [{ partition: 1, errorCode: 22 }] }] });
  });

  it.each(range(1, 4))('OffsetFetch v%i', async (v) => {
    const r = await requestBody('offsetFetch', v, { groupId: 'g', topics: [{ topic: 't', partitions: [{ partition: 0 }, { partition: 3 }] }] });
    expect(decodeOffsetFetchRequest(r, v)).toEqual([{ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 3] }] }]);
    expect(r.remaining).toBe(0);
    const body = written((w) => encodeOffsetFetchResponse(w, v, [{ groupId: 'g', errorCode: 0, topics: [{ name: 't', partitions: [
      { partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: -1, metadata: 'meta', errorCode: 0 },
      { partitionIndex: 3, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
    ] }] }]));
    expect(await kafkajs('offsetFetch', v).response.decode(body)).toMatchObject({
      responses: [{ topic: 't', partitions: [{ partition: 0, offset: '42', metadata: 'meta', errorCode: 0 }, { partition: 3, offset: '-1', metadata: '' }] }],
    });
  });

  it.each(range(0, 2))('FindCoordinator v%i', async (v) => {
    const r = await requestBody('findCoordinator', v, { groupId: 'g', coordinatorKey: 'g', coordinatorType: 0 });
    expect(decodeFindCoordinatorRequest(r, v)).toEqual({ keyType: 0, keys: ['g'] });
    expect(r.remaining).toBe(0);
    const body = written((w) => encodeFindCoordinatorResponse(w, v, [{ key: 'g', nodeId: 1, host: '127.0.0.1', port: 9092, errorCode: 0, errorMessage: null }]));
    expect(await kafkajs('findCoordinator', v).response.decode(body)).toMatchObject({ errorCode: 0, coordinator: { nodeId: 1, host: '127.0.0.1', port: 9092 } });
  });

  it.each(range(0, 2))('ListGroups v%i', async (v) => {
    const r = await requestBody('listGroups', v, {});
    expect(decodeListGroupsRequest(r, v)).toEqual({ statesFilter: [], typesFilter: [] });
    expect(r.remaining).toBe(0);
    const body = written((w) => encodeListGroupsResponse(w, v, [{ groupId: 'g', protocolType: 'consumer', groupState: 'Stable' }]));
    expect(await kafkajs('listGroups', v).response.decode(body)).toMatchObject({ errorCode: 0, groups: [{ groupId: 'g', protocolType: 'consumer' }] });
  });

  it.each(range(0, 2))('DescribeGroups v%i', async (v) => {
    const r = await requestBody('describeGroups', v, { groupIds: ['g', 'h'] });
    expect(decodeDescribeGroupsRequest(r, v)).toEqual(['g', 'h']);
    expect(r.remaining).toBe(0);
    const body = written((w) => encodeDescribeGroupsResponse(w, v, [{
      errorCode: 0, groupId: 'g', groupState: 'Stable', protocolType: 'consumer', protocolData: 'range',
      members: [{ memberId: 'm', groupInstanceId: null, clientId: 'c', clientHost: '/127.0.0.1', memberMetadata: Buffer.from([1]), memberAssignment: Buffer.from([2]) }],
    }]));
    expect(await kafkajs('describeGroups', v).response.decode(body)).toMatchObject({
      groups: [{ errorCode: 0, groupId: 'g', state: 'Stable', protocolType: 'consumer', protocol: 'range',
        members: [{ memberId: 'm', clientId: 'c', clientHost: '/127.0.0.1', memberMetadata: Buffer.from([1]), memberAssignment: Buffer.from([2]) }] }],
    });
  });
});

/** Compact string: uvarint(length + 1) then UTF-8 (KIP-482); every test string is under 127 bytes. */
const cs = (s: string): string => (Buffer.byteLength(s) + 1).toString(16).padStart(2, '0') + Buffer.from(s).toString('hex');
const hex = (parts: string[]): Buffer => Buffer.from(parts.join('').replace(/\s+/g, ''), 'hex');

describe('flexible versions, golden bytes', () => {
  it('JoinGroup v9 request and response', () => {
    const req = hex([cs('g'), '00007530', '0000ea60', cs('m'), '00', cs('consumer'),
      '02', cs('range'), '03', '0102', '00', // one protocol, compact bytes [1,2], no tags
      cs('why'), '00']);
    const r = new Reader(req);
    expect(decodeJoinGroupRequest(r, 9)).toEqual({
      groupId: 'g', sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 60_000, memberId: 'm', groupInstanceId: null,
      protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from([1, 2]) }],
    });
    expect(r.remaining).toBe(0);
    const res = written((w) => encodeJoinGroupResponse(w, 9, { errorCode: 0, generationId: 1, protocolType: 'consumer', protocolName: 'range', leader: 'm', memberId: 'm', members: [{ memberId: 'm', groupInstanceId: null, metadata: Buffer.from([7]) }] }));
    expect(res.toString('hex')).toBe(hex(['00000000', '0000', '00000001', cs('consumer'), cs('range'), cs('m'), '00', cs('m'),
      '02', cs('m'), '00', '0207', '00', '00']).toString('hex'));
  });

  it('SyncGroup v5, Heartbeat v4, LeaveGroup v5', () => {
    const sync = new Reader(hex([cs('g'), '00000001', cs('m'), '00', cs('consumer'), cs('range'), '02', cs('m'), '0241', '00', '00']));
    expect(decodeSyncGroupRequest(sync, 5)).toMatchObject({ protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: 'm', assignment: Buffer.from('A') }] });
    expect(sync.remaining).toBe(0);
    expect(written((w) => encodeSyncGroupResponse(w, 5, { errorCode: 0, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.from('A') })).toString('hex'))
      .toBe(hex(['00000000', '0000', cs('consumer'), cs('range'), '0241', '00']).toString('hex'));
    const hb = new Reader(hex([cs('g'), '00000001', cs('m'), cs('i'), '00']));
    expect(decodeHeartbeatRequest(hb, 4)).toEqual({ groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: 'i' });
    expect(written((w) => encodeHeartbeatResponse(w, 4, 27)).toString('hex')).toBe('00000000001b00');
    const leave = new Reader(hex([cs('g'), '03', cs('m'), '00', cs('bye'), '00', cs(''), cs('i'), '00', '00', '00']));
    expect(decodeLeaveGroupRequest(leave, 5)).toEqual({ groupId: 'g', members: [{ memberId: 'm', groupInstanceId: null }, { memberId: '', groupInstanceId: 'i' }] });
    expect(leave.remaining).toBe(0);
    expect(written((w) => encodeLeaveGroupResponse(w, 5, { errorCode: 0, members: [{ memberId: 'm', groupInstanceId: null, errorCode: 0 }] })).toString('hex'))
      .toBe(hex(['00000000', '0000', '02', cs('m'), '00', '0000', '00', '00']).toString('hex'));
  });

  it('OffsetCommit v9 and OffsetFetch v8 (multi-group) / v9', () => {
    const commit = new Reader(hex([cs('g'), '00000002', cs('m'), '00', '02', cs('t'), '02', '00000001', '000000000000002a', '00000005', cs('meta'), '00', '00', '00']));
    expect(decodeOffsetCommitRequest(commit, 9)).toEqual({
      groupId: 'g', generationId: 2, memberId: 'm', groupInstanceId: null,
      topics: [{ name: 't', partitions: [{ partitionIndex: 1, committedOffset: 42, committedLeaderEpoch: 5, committedMetadata: 'meta' }] }],
    });
    expect(commit.remaining).toBe(0);
    expect(written((w) => encodeOffsetCommitResponse(w, 9, { topics: [{ name: 't', partitions: [{ partitionIndex: 1, errorCode: 0 }] }] })).toString('hex'))
      .toBe(hex(['00000000', '02', cs('t'), '02', '00000001', '0000', '00', '00', '00']).toString('hex'));

    const fetch8 = new Reader(hex(['03', cs('g1'), '00', '00', cs('g2'), '02', cs('t'), '02', '00000000', '00', '00', '01', '00']));
    expect(decodeOffsetFetchRequest(fetch8, 8)).toEqual([{ groupId: 'g1', topics: null }, { groupId: 'g2', topics: [{ name: 't', partitionIndexes: [0] }] }]);
    expect(fetch8.remaining).toBe(0);
    const fetch9 = new Reader(hex(['02', cs('g1'), cs('m'), 'ffffffff', '00', '00', '00', '00']));
    expect(decodeOffsetFetchRequest(fetch9, 9)).toEqual([{ groupId: 'g1', topics: null }]);
    expect(fetch9.remaining).toBe(0);
    const res = written((w) => encodeOffsetFetchResponse(w, 8, [
      { groupId: 'g1', errorCode: 0, topics: [] },
      { groupId: 'g2', errorCode: 0, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 }] }] },
    ]));
    expect(res.toString('hex')).toBe(hex(['00000000', '03', cs('g1'), '01', '0000', '00', cs('g2'), '02', cs('t'), '02', '00000000', 'ffffffffffffffff', 'ffffffff', cs(''), '0000', '00', '00', '0000', '00', '00']).toString('hex'));
  });

  it('FindCoordinator v3 and v4 (KIP-699 batched keys)', () => {
    const v3 = new Reader(hex([cs('g'), '00', '00']));
    expect(decodeFindCoordinatorRequest(v3, 3)).toEqual({ keyType: 0, keys: ['g'] });
    const v4 = new Reader(hex(['00', '03', cs('a'), cs('b'), '00']));
    expect(decodeFindCoordinatorRequest(v4, 4)).toEqual({ keyType: 0, keys: ['a', 'b'] });
    expect(v4.remaining).toBe(0);
    const answer = { key: 'a', nodeId: 1, host: 'h', port: 9092, errorCode: 0, errorMessage: null };
    expect(written((w) => encodeFindCoordinatorResponse(w, 3, [answer])).toString('hex'))
      .toBe(hex(['00000000', '0000', '00', '00000001', cs('h'), '00002384', '00']).toString('hex'));
    expect(written((w) => encodeFindCoordinatorResponse(w, 4, [answer])).toString('hex'))
      .toBe(hex(['00000000', '02', cs('a'), '00000001', cs('h'), '00002384', '0000', '00', '00', '00']).toString('hex'));
  });

  it('ListGroups v5 and DescribeGroups v5', () => {
    const list = new Reader(hex(['02', cs('Stable'), '02', cs('classic'), '00']));
    expect(decodeListGroupsRequest(list, 5)).toEqual({ statesFilter: ['Stable'], typesFilter: ['classic'] });
    expect(list.remaining).toBe(0);
    expect(written((w) => encodeListGroupsResponse(w, 5, [{ groupId: 'g', protocolType: 'consumer', groupState: 'Stable' }])).toString('hex'))
      .toBe(hex(['00000000', '0000', '02', cs('g'), cs('consumer'), cs('Stable'), cs('classic'), '00', '00']).toString('hex'));
    const describe5 = new Reader(hex(['02', cs('g'), '01', '00']));
    expect(decodeDescribeGroupsRequest(describe5, 5)).toEqual(['g']);
    expect(describe5.remaining).toBe(0);
    expect(written((w) => encodeDescribeGroupsResponse(w, 5, [{ errorCode: 0, groupId: 'g', groupState: 'Dead', protocolType: '', protocolData: '', members: [] }])).toString('hex'))
      .toBe(hex(['00000000', '02', '0000', cs('g'), cs('Dead'), cs(''), cs(''), '01', '80000000', '00', '00']).toString('hex'));
  });
});
