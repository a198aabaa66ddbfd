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
 * Whether a node leads is decided when the request reaches the proxy; a request forwarded just
 * before a move is written, as one that reached the old leader before the election would be.
 * Responses go back in request order (Kafka answers a connection's requests in order), whether
 * they came from the upstream or from the proxy.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ApiKey } from '../../src/kafka/protocol/api-keys.js';
import { encodeMetadataResponse, type MetadataResponse } from '../../src/kafka/protocol/apis/metadata.js';
import { decodeProduceRequest, encodeProduceResponse, PRODUCE_FIRST_FLEXIBLE } from '../../src/kafka/protocol/apis/produce.js';
import { readRequestHeader, responseHeaderIsFlexible, writeResponseHeader } from '../../src/kafka/protocol/header.js';
import { Reader } from '../../src/kafka/protocol/reader.js';
import { Writer } from '../../src/kafka/protocol/writer.js';
import { METADATA_VERSIONS, readMetadataResponse } from '../../bridge/mirror/wire/requests.js';
import { frames } from './fault-proxy.js';

const NOT_LEADER_OR_FOLLOWER = 6;
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
  /** Metadata responses rewritten. */
  readonly metadataRewritten: number;
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
  frame: Buffer | undefined;
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
  let metadataRewritten = 0;
  let ports: [number, number] = [0, 0];

  const leaderOf = (topic: string, partition: number) => leaders.get(`${topic}\0${partition}`) ?? { node: 0, epoch: 0 };

  /** The upstream's Metadata answer, as the two-broker cluster would give it. */
  function rewriteMetadata(frame: Buffer, slot: Slot): Buffer {
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
    metadataRewritten++;
    const w = new Writer();
    writeResponseHeader(w, slot.correlationId, false);
    encodeMetadataResponse(w, slot.apiVersion, res);
    return sizePrefixed(w);
  }

  /** For a Produce request `node` does not lead all of: the answer it gets (6 for each partition); else undefined. */
  function refuseMisrouted(frame: Buffer, node: number, apiVersion: number, correlationId: number): Buffer | undefined {
    const flexible = apiVersion >= PRODUCE_FIRST_FLEXIBLE;
    const r = new Reader(frame, 4);
    readRequestHeader(r, flexible);
    const req = decodeProduceRequest(r, apiVersion);
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
    const fail = (err: unknown): void => {
      errors.push(`node ${node}: ${(err as Error).message}`);
      end();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    const slots: Slot[] = [];
    /** Sends every answer at the head of the queue that is ready. */
    const flush = (): void => {
      while (slots.length > 0 && slots[0]!.frame !== undefined) {
        const frame = slots.shift()!.frame!;
        if (frame.length > 0) client.write(frame);
      }
    };
    client.on(
      'data',
      frames((frame) => {
        try {
          const apiKey = frame.readInt16BE(4);
          const apiVersion = frame.readInt16BE(6);
          const correlationId = frame.readInt32BE(8);
          const refusal = apiKey === ApiKey.Produce ? refuseMisrouted(frame, node, apiVersion, correlationId) : undefined;
          if (apiKey === ApiKey.Produce) (refusal === undefined ? produceForwarded : produceRefused)[node]!++;
          slots.push({ apiKey, apiVersion, correlationId, forwarded: refusal === undefined, frame: refusal });
          if (refusal === undefined) upstream.write(frame);
          else flush();
        } catch (err) {
          fail(err);
        }
      }),
    );
    upstream.on(
      'data',
      frames((frame) => {
        try {
          const slot = slots.find((s) => s.forwarded && s.frame === undefined);
          const correlationId = frame.readInt32BE(4);
          if (slot === undefined || slot.correlationId !== correlationId) throw new Error(`upstream answered correlation id ${correlationId}, expected ${slot?.correlationId ?? 'none'}`);
          slot.frame = slot.apiKey === ApiKey.Metadata ? rewriteMetadata(frame, slot) : frame;
          flush();
        } catch (err) {
          fail(err);
        }
      }),
    );
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
    get metadataRewritten() {
      return metadataRewritten;
    },
    errors,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
