/**
 * InitProducerId v0–5 for idempotent producers (KIP-98; KIP-360 epoch bump in v3+).
 * Transactional ids are refused: Weir has no transaction coordinator.
 */
import { ApiKey } from '../../protocol/api-keys.js';
import {
  decodeInitProducerIdRequest, encodeInitProducerIdResponse, INIT_PRODUCER_ID_FIRST_FLEXIBLE,
} from '../../protocol/apis/init-producer-id.js';
import { errorCode } from '../../protocol/error-codes.js';
import { defineHandler } from '../handler.js';
import type { ProducerStateManager } from '../producer-state.js';

export function createInitProducerIdHandler(deps: { producers: ProducerStateManager }) {
  return defineHandler({
    apiKey: ApiKey.InitProducerId,
    name: 'InitProducerId',
    minVersion: 0,
    maxVersion: 5,
    firstFlexibleVersion: INIT_PRODUCER_ID_FIRST_FLEXIBLE,
    decode: decodeInitProducerIdRequest,
    encode: encodeInitProducerIdResponse,
    handle(req) {
      const refused = { throttleTimeMs: 0, producerId: -1, producerEpoch: -1 };
      if (req.transactionalId !== null) return { ...refused, errorCode: errorCode('TRANSACTIONAL_ID_AUTHORIZATION_FAILED') };
      const r = deps.producers.initProducerId(req.producerId, req.producerEpoch);
      if ('error' in r) return { ...refused, errorCode: errorCode(r.error) };
      return { throttleTimeMs: 0, errorCode: 0, producerId: r.producerId, producerEpoch: r.producerEpoch };
    },
  });
}
