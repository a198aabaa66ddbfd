/**
 * InitProducerId v0–5 (KIP-98; KIP-360 epoch bump in v3+): without a transactional id, an
 * idempotent producer's id; with one, the transaction coordinator's (src/kafka/server/transactions/),
 * which fences an older producer of the same id. Without a coordinator transactional ids are
 * refused.
 */
import { ApiKey } from '../../protocol/api-keys.js';
import {
  decodeInitProducerIdRequest, encodeInitProducerIdResponse, INIT_PRODUCER_ID_FIRST_FLEXIBLE, type InitProducerIdRequest,
} from '../../protocol/apis/init-producer-id.js';
import { errorCode } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';
import type { ProducerStateManager } from '../producer-state.js';
import { fencedFor } from '../transactions/codes.js';
import type { TransactionCoordinator } from '../transactions/coordinator.js';

/** InitProducerId knows PRODUCER_FENCED from v4 (KIP-588); older clients get INVALID_PRODUCER_EPOCH. */
const FIRST_VERSION_WITH_FENCED = 4;

const REFUSED = { throttleTimeMs: 0, producerId: -1, producerEpoch: -1 };

export function createInitProducerIdHandler(deps: { producers: ProducerStateManager; transactions?: TransactionCoordinator }) {
  async function transactional(req: InitProducerIdRequest & { transactionalId: string }, version: number) {
    if (deps.transactions === undefined) return { ...REFUSED, errorCode: errorCode('TRANSACTIONAL_ID_AUTHORIZATION_FAILED') };
    const expected = req.producerId >= 0 ? { producerId: req.producerId, producerEpoch: req.producerEpoch } : null;
    const r = await deps.transactions.initProducerId(req.transactionalId, req.transactionTimeoutMs, expected);
    if ('error' in r) return { ...REFUSED, errorCode: fencedFor(r.error, version, FIRST_VERSION_WITH_FENCED) };
    return { throttleTimeMs: 0, errorCode: 0, producerId: r.producerId, producerEpoch: r.producerEpoch };
  }

  return defineHandler({
    apiKey: ApiKey.InitProducerId,
    name: 'InitProducerId',
    minVersion: 0,
    maxVersion: 5,
    firstFlexibleVersion: INIT_PRODUCER_ID_FIRST_FLEXIBLE,
    decode: decodeInitProducerIdRequest,
    encode: encodeInitProducerIdResponse,
    handle(req, ctx) {
      if (req.transactionalId !== null) return transactional({ ...req, transactionalId: req.transactionalId }, ctx.apiVersion);
      const r = deps.producers.initProducerId(req.producerId, req.producerEpoch);
      if ('error' in r) return { ...REFUSED, errorCode: errorCode(r.error) };
      return { throttleTimeMs: 0, errorCode: 0, producerId: r.producerId, producerEpoch: r.producerEpoch };
    },
  });
}
