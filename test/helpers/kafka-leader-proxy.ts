/**
 * A Kafka-aware proxy that makes one upstream Weir look like a two-broker cluster whose partition
 * leaders move when a test says so. It listens on two ports, node 0 and node 1; each client
 * connection gets its own connection to the real upstream, and every request goes there except:
 *
 * - Metadata responses (v4–8, what the mirror's producer asks) are rewritten: the brokers are the
 *   two proxy ports, each partition's leader is the node the test set (its leader epoch counts the
 *   moves, KIP-320), every partition has both nodes as replicas and in sync.
 * - A Produce request that names a partition the receiving node does not lead is answered at once
 *   with NOT_LEADER_OR_FOLLOWER (6) for EVERY partition in it and is not forwarded, as a follower
 *   writes nothing. Refusing the partitions it does lead too is allowed (6 is retriable: the
 *   client sends the same batch again, unwritten) and spares splitting a request and merging two
 *   answers; a Java or librdkafka client groups a request by the leader it believes, so a request
 *   is mixed only when a leader moved inside it.
 *
 * Whether a node leads is decided when the request reaches it (after `delayMs`); a request
 * forwarded just before a move is written, as one that reached the old leader before the election
 * would be.
 * Responses go back in request order (Kafka answers a connection's requests in order), whether
 * they came from the upstream or from the proxy.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ApiKey } from '../../src/kafka/protocol/api-keys.js';
import { encodeMetadataResponse, type MetadataResponse } from '../../src/kafka/protocol/apis/metadata.js';
import { decodeProduceRequest, encodeProduceResponse, PRODUCE_FIRST_FLEXIBLE, type ProduceRequest } from '../../src/kafka/protocol/apis/produce.js';
import { readRequestHeader, responseHeaderIsFlexible, writeResponseHeader } from '../../src/kafka/protocol/header.js';
import { Reader } from '../../src/kafka/protocol/reader.js';
import { Writer } from '../../src/kafka/protocol/writer.js';
import { METADATA_VERSIONS, readMetadataResponse } from '../../bridge/mirror/wire/requests.js';
import { frames } from './fault-proxy.js';

const NOT_LEADER_OR_FOLLOWER = 6;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const NODES = [0, 1] as const;

export interface LeaderProxy {
  /** The two brokers' ports: node 0's, node 1's. */
  readonly ports: readonly [number, number];
  /** The node that leads `topic`[`partition`] now (0 until set). */
  leader(topic: string, partition: number): number;
  /** Moves the leadership of `topic`[`partition`] to `node`: later requests see it at once. */
  setLeader(topic: string, partition: number, node: number): void;
  /** Per node: connections accepted, Produce requests forwarded, Produce requests refused with 6. */
  readonly accepted: readonly [number, number];
  readonly produceForwarded: readonly [number, number];
  readonly produceRefused: readonly [number, number];
  /**
   * Per node, how long a request takes to reach it (a slow broker or link), in arrival order; the
   * leader check is made as it arrives. With the old leader slower than the new, a client that
   * sends to the new leader while batches are still on their way to the old one gets the later
   * batch to the broker first.
   */
  readonly delayMs: [number, number];
  /** Per node, Metadata responses rewritten. */
  readonly metadataRewritten: readonly [number, number];
  /**
   * The first ten times a Produce request for a partition came for one node while a request for
   * it was unanswered at the other: batches of one partition in flight to two brokers at once.
   * The window seen here lies inside the client's (it sent before the proxy got it, and reads the
   * answer after the proxy wrote it), so a client that keeps the rule is never counted, and one
   * that breaks it can be missed (it sent before reading an answer already written).
   */
  readonly overlaps: readonly string[];
  /** What the proxy could not handle (an unexpected version, a frame out of step): a test expects none. */
  readonly errors: readonly string[];
  close(): Promise<void>;
}

/** One request's answer, in request order: filled by the upstream or by the proxy. */
interface Slot {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  /** Forwarded: the upstream answers it. */
  readonly forwarded: boolean;
  /** The answer; empty for a request that gets none (Produce with acks=0). */
  frame: Buffer | undefined;
}

/** A request as it reaches the proxy; a Produce request's partitions decoded. */
interface Arrival {
  readonly frame: Buffer;
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly produce: ProduceRequest | undefined;
  /** "topic\0partition" of each partition a Produce request names. */
  readonly partitions: readonly string[];
}

const partitionKey = (topic: string, partition: number): string => `${topic}\0${partition}`;

function readArrival(frame: Buffer): Arrival {
  const apiKey = frame.readInt16BE(4);
  const apiVersion = frame.readInt16BE(6);
  const correlationId = frame.readInt32BE(8);
  if (apiKey !== ApiKey.Produce) return { frame, apiKey, apiVersion, correlationId, produce: undefined, partitions: [] };
  const r = new Reader(frame, 4);
  readRequestHeader(r, apiVersion >= PRODUCE_FIRST_FLEXIBLE);
  const produce = decodeProduceRequest(r, apiVersion);
  const partitions = produce.topics.flatMap((t) => t.partitions.map((p) => partitionKey(t.name, p.index)));
  return { frame, apiKey, apiVersion, correlationId, produce, partitions };
}

/** `handle`, with what it throws passed to `failed` instead. */
function guard<T>(handle: (item: T) => void, failed: (err: Error) => void): (item: T) => void {
  return (item) => {
    try {
      handle(item);
    } catch (err) {
      failed(err as Error);
    }
  };
}

function sizePrefixed(w: Writer): Buffer {
  const body = w.toBuffer();
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(body.length);
  return Buffer.concat([prefix, body]);
}

/** `upstreamPort` is read at every connect: it may change when the upstream restarts. */
export async function startLeaderProxy(upstreamPort: () => number): Promise<LeaderProxy> {
  const leaders = new Map<string, { node: number; epoch: number }>();
  const accepted: [number, number] = [0, 0];
  const produceForwarded: [number, number] = [0, 0];
  const produceRefused: [number, number] = [0, 0];
  const errors: string[] = [];
  const sockets = new Set<Socket>();
  const metadataRewritten: [number, number] = [0, 0];
  let ports: [number, number] = [0, 0];
  const delayMs: [number, number] = [0, 0];

  /** Per partition, per node: Produce requests naming it that the node has received and not answered. */
  const unanswered = new Map<string, [number, number]>();
  const overlaps: string[] = [];
  const leaderOf = (topic: string, partition: number) => leaders.get(partitionKey(topic, partition)) ?? { node: 0, epoch: 0 };

  /** A Produce request reached `node` (+1) or was answered or lost with its connection (-1). */
  function countUnanswered(node: number, partitions: readonly string[], change: 1 | -1): void {
    for (const key of partitions) {
      let counts = unanswered.get(key);
      if (counts === undefined) unanswered.set(key, (counts = [0, 0]));
      if (change > 0 && counts[1 - node]! > 0 && overlaps.length < 10) overlaps.push(`${key.replace('\0', '[')}] sent to node ${node} with ${counts[1 - node]} unanswered at node ${1 - node}`);
      counts[node]! += change;
    }
  }

  /** The upstream's Metadata answer, as the two-broker cluster would give it. */
  function rewriteMetadata(frame: Buffer, slot: Slot, node: number): Buffer {
    if (slot.apiVersion < METADATA_VERSIONS.min || slot.apiVersion > METADATA_VERSIONS.max) throw new Error(`Metadata v${slot.apiVersion} is not rewritten`);
    const r = new Reader(frame, 8);
    const res: MetadataResponse = readMetadataResponse(r, slot.apiVersion);
    if (r.remaining !== 0) throw new Error(`${r.remaining} bytes left after Metadata v${slot.apiVersion}`);
    res.brokers = NODES.map((nodeId) => ({ nodeId, host: '127.0.0.1', port: ports[nodeId], rack: null }));
    res.controllerId = 0;
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) continue;
        const { node, epoch } = leaderOf(t.name, p.partitionIndex);
        Object.assign(p, { leaderId: node, leaderEpoch: epoch, replicaNodes: [...NODES], isrNodes: [...NODES], offlineReplicas: [] });
      }
    }
    metadataRewritten[node]!++;
    const w = new Writer();
    writeResponseHeader(w, slot.correlationId, false);
    encodeMetadataResponse(w, slot.apiVersion, res);
    return sizePrefixed(w);
  }

  /** For a Produce request `node` does not lead all of: the answer it gets (6 for each partition); else undefined. */
  function refuseMisrouted(req: ProduceRequest, node: number, apiVersion: number, correlationId: number): Buffer | undefined {
    const flexible = apiVersion >= PRODUCE_FIRST_FLEXIBLE;
    if (req.topics.every((t) => t.partitions.every((p) => leaderOf(t.name, p.index).node === node))) return undefined;
    const responses = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ index: p.index, errorCode: NOT_LEADER_OR_FOLLOWER, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, errorMessage: `this broker is not the leader of ${t.name}[${p.index}]` })),
    }));
    const w = new Writer();
    writeResponseHeader(w, correlationId, responseHeaderIsFlexible(ApiKey.Produce, flexible));
    encodeProduceResponse(w, apiVersion, { responses, throttleTimeMs: 0 });
    // acks=0: no response at all, but still not written.
    return req.acks === 0 ? Buffer.alloc(0) : sizePrefixed(w);
  }

  /** One client connection to `node`: its own upstream connection, its answers in request order. */
  function serve(node: number, client: Socket): void {
    accepted[node]!++;
    const upstream = connect(upstreamPort(), '127.0.0.1');
    sockets.add(client).add(upstream);
    const end = (): void => {
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    const guarded = <T>(handle: (item: T) => void) =>
      guard(handle, (err) => {
        errors.push(`node ${node}: ${err.message}`);
        end();
      });
    const slots: Slot[] = [];
    /** Partitions of each request received and not answered, in request order. */
    const waiting: (readonly string[])[] = [];
    /** Sends every answer at the head of the queue that is ready. */
    const flush = (): void => {
      while (slots.length > 0 && slots[0]!.frame !== undefined) {
        const frame = slots.shift()!.frame!;
        if (frame.length > 0) client.write(frame);
        countUnanswered(node, waiting.shift() ?? [], -1);
      }
    };
    client.on('close', () => {
      for (const partitions of waiting.splice(0)) countUnanswered(node, partitions, -1);
    });
    const request = guarded((a: Arrival) => {
      const refusal = a.produce === undefined ? undefined : refuseMisrouted(a.produce, node, a.apiVersion, a.correlationId);
      if (a.produce !== undefined) (refusal === undefined ? produceForwarded : produceRefused)[node]!++;
      const unansweredForward = a.produce?.acks === 0 ? Buffer.alloc(0) : undefined;
      slots.push({ apiKey: a.apiKey, apiVersion: a.apiVersion, correlationId: a.correlationId, forwarded: refusal === undefined, frame: refusal ?? unansweredForward });
      if (refusal === undefined) upstream.write(a.frame);
      flush();
    });
    const response = guarded((frame: Buffer) => {
      const slot = slots.find((s) => s.forwarded && s.frame === undefined);
      const correlationId = frame.readInt32BE(4);
      if (slot === undefined || slot.correlationId !== correlationId) throw new Error(`upstream answered correlation id ${correlationId}, expected ${slot?.correlationId ?? 'none'}`);
      slot.frame = slot.apiKey === ApiKey.Metadata ? rewriteMetadata(frame, slot, node) : frame;
      flush();
    });
    // Requests in arrival order, each handled delayMs[node] after it came; counted unanswered from the moment it came.
    let arrivals = Promise.resolve();
    client.on(
      'data',
      frames(
        guarded((frame: Buffer) => {
          const arrival = readArrival(frame);
          waiting.push(arrival.partitions);
          countUnanswered(node, arrival.partitions, 1);
          const due = Date.now() + delayMs[node];
          arrivals = arrivals.then(async () => {
            if (due > Date.now()) await sleep(due - Date.now());
            if (!client.destroyed) request(arrival);
          });
        }),
      ),
    );
    upstream.on('data', frames(response));
  }

  const servers: Server[] = [];
  for (const node of NODES) {
    const server = createServer((client) => serve(node, client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  ports = [(servers[0]!.address() as AddressInfo).port, (servers[1]!.address() as AddressInfo).port];

  return {
    ports,
    leader: (topic, partition) => leaderOf(topic, partition).node,
    setLeader(topic, partition, node) {
      const now = leaderOf(topic, partition);
      if (now.node !== node) leaders.set(`${topic}\0${partition}`, { node, epoch: now.epoch + 1 });
    },
    accepted,
    produceForwarded,
    produceRefused,
    delayMs,
    overlaps,
    metadataRewritten,
    errors,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
