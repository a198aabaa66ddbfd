/**
 * FindCoordinator v0–4: Weir is a single node and coordinates every group itself (admin.ts
 * decides the answer).
 */
import { ApiKey } from '../../../protocol/api-keys.js';
import { decodeFindCoordinatorRequest, encodeFindCoordinatorResponse, FIND_COORDINATOR_FIRST_FLEXIBLE } from '../../../protocol/apis/find-coordinator.js';
import { defineHandler } from '../../handler.js';
import { findCoordinator } from '../admin.js';

export function createFindCoordinatorHandler() {
  return defineHandler({
    apiKey: ApiKey.FindCoordinator,
    name: 'FindCoordinator',
    minVersion: 0,
    maxVersion: 4,
    firstFlexibleVersion: FIND_COORDINATOR_FIRST_FLEXIBLE,
    decode: decodeFindCoordinatorRequest,
    encode: encodeFindCoordinatorResponse,
    handle: (req, ctx) => findCoordinator(req.keys, req.keyType, ctx.broker),
  });
}
