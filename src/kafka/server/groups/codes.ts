/** The Kafka error codes the group coordinator answers with, looked up once from the generated table. */
import { errorCode } from '../../protocol/error-codes.js';

export const NONE = 0;
export const UNKNOWN_SERVER_ERROR = errorCode('UNKNOWN_SERVER_ERROR');
export const UNKNOWN_TOPIC_OR_PARTITION = errorCode('UNKNOWN_TOPIC_OR_PARTITION');
export const OFFSET_METADATA_TOO_LARGE = errorCode('OFFSET_METADATA_TOO_LARGE');
/** 14: retriable on every client; Weir uses it for "too many waiting requests, back off". */
export const COORDINATOR_LOAD_IN_PROGRESS = errorCode('GROUP_LOAD_IN_PROGRESS');
/** 15: retriable; clients look the coordinator up again and retry. */
export const COORDINATOR_NOT_AVAILABLE = errorCode('GROUP_COORDINATOR_NOT_AVAILABLE');
export const ILLEGAL_GENERATION = errorCode('ILLEGAL_GENERATION');
export const INCONSISTENT_GROUP_PROTOCOL = errorCode('INCONSISTENT_GROUP_PROTOCOL');
export const INVALID_GROUP_ID = errorCode('INVALID_GROUP_ID');
export const UNKNOWN_MEMBER_ID = errorCode('UNKNOWN_MEMBER_ID');
export const INVALID_SESSION_TIMEOUT = errorCode('INVALID_SESSION_TIMEOUT');
export const REBALANCE_IN_PROGRESS = errorCode('REBALANCE_IN_PROGRESS');
export const INVALID_REQUEST = errorCode('INVALID_REQUEST');
export const MEMBER_ID_REQUIRED = errorCode('MEMBER_ID_REQUIRED');
export const GROUP_MAX_SIZE_REACHED = errorCode('GROUP_MAX_SIZE_REACHED');
export const FENCED_INSTANCE_ID = errorCode('FENCED_INSTANCE_ID');
