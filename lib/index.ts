/**
 * `mcp-sessions`: the session library and its HTTP client. The same SessionStore interface either
 * in-process over DynamoDB (DynamoSessionStore, sessionStoreFromEnvironment) or over the deployed
 * service's IAM-authorised API (SessionClient).
 */
export { DynamoSessionStore, DEFAULT_MAX_LIFETIME_SECONDS, DEFAULT_PRUNE_SCAN_LIMIT, DEFAULT_TTL_SECONDS } from './dynamo-session-store.js';
export type { DynamoSessionStoreOptions, StoreEvents } from './dynamo-session-store.js';
export { sessionStoreFromEnvironment } from './in-process.js';
export type { InProcessStoreOptions } from './in-process.js';
export { SessionClient, SessionServiceError } from './session-client.js';
export type { SessionClientOptions, SessionClientSigning } from './session-client.js';
export { InvalidStartInputError, METADATA_MAX_BYTES, OWNER_MAX_LENGTH, isOwner } from './session-store.js';
export type {
  ActiveSession,
  CallOptions,
  OwnerOption,
  SessionMetadata,
  SessionStatus,
  SessionStore,
  StartInputProblem,
  StartOptions,
  StartedSession,
} from './session-store.js';
export { StoreUnavailableError } from './errors.js';
export { ConfigError, IN_PROCESS_ENV_PREFIX, loadConfig } from './config.js';
export type { Environment, LoadConfigOptions, ServiceConfig } from './config.js';
export { createDynamoClient, documentClient } from './dynamodb-client.js';
export type { DynamoClientOptions } from './dynamodb-client.js';
export { DEADLINE_BUDGET, deadlineSignal, sessionClientWorstCaseMs } from './deadline-budget.js';
export { isSessionId, sessionTag } from './session-id.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export type { Logger } from './logger.js';
export { sessionTable, createTableInput } from './table-schema.js';
