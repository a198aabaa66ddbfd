/**
 * The consumer-group handlers, registered next to the core's:
 *   startKafkaListener({ handlers: [...coreHandlers(deps), ...groupHandlers(coordinator)] })
 * The coordinator is created (and closed at shutdown) by whoever starts the listener.
 */
import type { KafkaHandler } from '../../handler.js';
import type { GroupCoordinator } from '../coordinator.js';
import { createDescribeGroupsHandler } from './describe-groups.js';
import { createFindCoordinatorHandler } from './find-coordinator.js';
import { createHeartbeatHandler } from './heartbeat.js';
import { createJoinGroupHandler } from './join-group.js';
import { createLeaveGroupHandler } from './leave-group.js';
import { createListGroupsHandler } from './list-groups.js';
import { createOffsetCommitHandler } from './offset-commit.js';
import { createOffsetFetchHandler } from './offset-fetch.js';
import { createSyncGroupHandler } from './sync-group.js';

export function groupHandlers(coordinator: GroupCoordinator): KafkaHandler[] {
  return [
    createFindCoordinatorHandler(),
    createJoinGroupHandler(coordinator),
    createSyncGroupHandler(coordinator),
    createHeartbeatHandler(coordinator),
    createLeaveGroupHandler(coordinator),
    createOffsetCommitHandler(coordinator),
    createOffsetFetchHandler(coordinator),
    createListGroupsHandler(coordinator),
    createDescribeGroupsHandler(coordinator),
  ];
}
