/**
 * The transaction APIs' handlers, registered next to the core's and the groups':
 *   startKafkaListener({ handlers: [...coreHandlers(deps), ...groupHandlers(g), ...transactionHandlers(t, store)] })
 * Versions 0–3 each: what librdkafka 2.x, kafkajs and Java 3.x clients send (v4+ are KIP-890's,
 * for brokers, or bump the epoch per transaction).
 */
import { ApiKey } from '../../protocol/api-keys.js';
import {
  ADD_OFFSETS_TO_TXN_FIRST_FLEXIBLE, decodeAddOffsetsToTxnRequest, encodeAddOffsetsToTxnResponse, type TxnErrorResponse,
} from '../../protocol/apis/add-offsets-to-txn.js';
import {
  ADD_PARTITIONS_TO_TXN_FIRST_FLEXIBLE, decodeAddPartitionsToTxnRequest, encodeAddPartitionsToTxnResponse, type AddPartitionsToTxnRequest,
} from '../../protocol/apis/add-partitions-to-txn.js';
import { decodeEndTxnRequest, encodeEndTxnResponse, END_TXN_FIRST_FLEXIBLE } from '../../protocol/apis/end-txn.js';
import { decodeTxnOffsetCommitRequest, encodeTxnOffsetCommitResponse, TXN_OFFSET_COMMIT_FIRST_FLEXIBLE } from '../../protocol/apis/txn-offset-commit.js';
import { errorCode } from '../../protocol/error-codes.js';
import { isWeirError } from '../../../errors.js';
import type { RecordLog } from '../../../store/types.js';
import { defineHandler, type KafkaHandler } from '../handler.js';
import { fencedFor, txnErrorCode } from './codes.js';
import type { TransactionCoordinator } from './coordinator.js';
import type { TxnError } from './types.js';

/** AddPartitionsToTxn, AddOffsetsToTxn and EndTxn know PRODUCER_FENCED from v2 (KIP-588). */
const FIRST_VERSION_WITH_FENCED = 2;

export function transactionHandlers(coordinator: TransactionCoordinator, store: Pick<RecordLog, 'offsets'>): KafkaHandler[] {
  return [
    createAddPartitionsToTxnHandler(coordinator, store),
    createAddOffsetsToTxnHandler(coordinator),
    createEndTxnHandler(coordinator),
    createTxnOffsetCommitHandler(coordinator),
  ];
}

function createAddPartitionsToTxnHandler(coordinator: TransactionCoordinator, store: Pick<RecordLog, 'offsets'>) {
  return defineHandler({
    apiKey: ApiKey.AddPartitionsToTxn,
    name: 'AddPartitionsToTxn',
    minVersion: 0,
    maxVersion: 3,
    firstFlexibleVersion: ADD_PARTITIONS_TO_TXN_FIRST_FLEXIBLE,
    decode: decodeAddPartitionsToTxnRequest,
    encode: encodeAddPartitionsToTxnResponse,
    async handle(req, ctx) {
      const unknown = unknownPartitions(store, req);
      // As KafkaApis: when any partition is unknown, none is added and the rest are "not attempted".
      const all = unknown.size > 0 ? 0 : fencedFor(await coordinator.addPartitions(req), ctx.apiVersion, FIRST_VERSION_WITH_FENCED);
      const code = (topic: string, p: number): number =>
        unknown.size === 0 ? all : errorCode(unknown.has(`${p}:${topic}`) ? 'UNKNOWN_TOPIC_OR_PARTITION' : 'OPERATION_NOT_ATTEMPTED');
      return {
        throttleTimeMs: 0,
        results: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p, errorCode: code(t.name, p) })) })),
      };
    },
  });
}

function createAddOffsetsToTxnHandler(coordinator: TransactionCoordinator) {
  return errorOnlyHandler({
    apiKey: ApiKey.AddOffsetsToTxn, name: 'AddOffsetsToTxn', firstFlexibleVersion: ADD_OFFSETS_TO_TXN_FIRST_FLEXIBLE,
    decode: decodeAddOffsetsToTxnRequest, encode: encodeAddOffsetsToTxnResponse,
  }, (req) => coordinator.addOffsets(req));
}

function createEndTxnHandler(coordinator: TransactionCoordinator) {
  return errorOnlyHandler({
    apiKey: ApiKey.EndTxn, name: 'EndTxn', firstFlexibleVersion: END_TXN_FIRST_FLEXIBLE,
    decode: decodeEndTxnRequest, encode: encodeEndTxnResponse,
  }, (req) => coordinator.endTxn(req));
}

/** A transaction API of versions 0–3 whose answer is one error code (AddOffsetsToTxn, EndTxn). */
function errorOnlyHandler<Req>(
  api: Pick<KafkaHandler<Req, TxnErrorResponse>, 'apiKey' | 'name' | 'firstFlexibleVersion' | 'decode' | 'encode'>,
  serve: (req: Req) => Promise<TxnError>,
) {
  return defineHandler({
    ...api,
    minVersion: 0,
    maxVersion: 3,
    handle: async (req: Req, ctx) => ({ throttleTimeMs: 0, errorCode: fencedFor(await serve(req), ctx.apiVersion, FIRST_VERSION_WITH_FENCED) }),
  });
}

function createTxnOffsetCommitHandler(coordinator: TransactionCoordinator) {
  return defineHandler({
    apiKey: ApiKey.TxnOffsetCommit,
    name: 'TxnOffsetCommit',
    minVersion: 0,
    maxVersion: 3,
    firstFlexibleVersion: TXN_OFFSET_COMMIT_FIRST_FLEXIBLE,
    decode: decodeTxnOffsetCommitRequest,
    encode: encodeTxnOffsetCommitResponse,
    async handle(req) {
      const result = await coordinator.txnOffsetCommit(req);
      const codeOf = (ti: number, pi: number): number => (typeof result === 'string' ? txnErrorCode(result) : result[ti]![pi]!);
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t, ti) => ({ name: t.name, partitions: t.partitions.map((p, pi) => ({ partitionIndex: p.partitionIndex, errorCode: codeOf(ti, pi) })) })),
      };
    },
  });
}

/** The partitions of the request that do not exist, as `${partition}:${topic}`. */
function unknownPartitions(store: Pick<RecordLog, 'offsets'>, req: AddPartitionsToTxnRequest): Set<string> {
  const unknown = new Set<string>();
  for (const t of req.topics) {
    for (const p of t.partitions) {
      try {
        store.offsets(t.name, p);
      } catch (err) {
        if (!isWeirError(err, 'UNKNOWN_TOPIC_OR_PARTITION')) throw err;
        unknown.add(`${p}:${t.name}`);
      }
    }
  }
  return unknown;
}
