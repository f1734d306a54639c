/**
 * `mcp-sessions`: the session library and its HTTP client. The same SessionStore interface either
 * in-process over DynamoDB (DynamoSessionStore, sessionStoreFromEnvironment) or over the deployed
 * service's IAM-authorised API (SessionClient). Likewise the session streams (SessionStreams):
 * DynamoSessionStreams in-process, over a second table.
 */
export { DynamoSessionStore, DEFAULT_MAX_LIFETIME_SECONDS, DEFAULT_PRUNE_SCAN_LIMIT, DEFAULT_TTL_SECONDS } from './dynamo-session-store.js';
export type { DynamoSessionStoreOptions, StoreEvents } from './dynamo-session-store.js';
export { sessionStoreFromEnvironment, sessionStreamsFromEnvironment } from './in-process.js';
export type { InProcessStoreOptions, InProcessStreamsOptions } from './in-process.js';
export { DynamoSessionStreams, DEFAULT_APPEND_ATTEMPTS, DEFAULT_SEQ_CACHE_SIZE } from './dynamo-session-streams.js';
export type { DynamoSessionStreamsOptions } from './dynamo-session-streams.js';
export {
  DEFAULT_STREAM_RETENTION_SECONDS,
  InvalidStreamInputError,
  STREAM_ID_PATTERN,
  STREAM_MESSAGE_MAX_BYTES,
  STREAM_READ_MAX,
  STREAM_SEQ_MAX,
  isStreamId,
} from './session-streams.js';
export type { ReadOptions, SessionStreams, StreamInputProblem, StreamMessage } from './session-streams.js';
export { SessionClient, SessionServiceError } from './session-client.js';
export { SessionStreamsClient } from './session-streams-client.js';
export { SessionCheckCache, DEFAULT_CHECK_CACHE_MAX_ENTRIES } from './session-check-cache.js';
export type { SessionCheckCacheOptions, SessionCheckCacheStats } from './session-check-cache.js';
export type { SessionClientOptions, SessionClientSigning } from './session-client.js';
export {
  InvalidStartInputError,
  InvalidStateChangeError,
  LOG_LEVELS,
  METADATA_MAX_BYTES,
  OWNER_MAX_LENGTH,
  SUBSCRIPTIONS_MAX,
  SUBSCRIPTION_URI_MAX_BYTES,
  isLogLevel,
  isOwner,
  parseStateChange,
} from './session-store.js';
export type {
  ActiveSession,
  CallOptions,
  LogLevel,
  OwnerOption,
  SessionMetadata,
  SessionState,
  SessionStateChange,
  SessionStatus,
  SessionStore,
  StartInputProblem,
  StartOptions,
  StartedSession,
  StateChangeProblem,
} from './session-store.js';
export { StoreUnavailableError } from './errors.js';
export { ConfigError, IN_PROCESS_ENV_PREFIX, loadConfig, loadStreamsConfig } from './config.js';
export type { Environment, LoadConfigOptions, ServiceConfig, StreamsConfig } from './config.js';
export { createDynamoClient, documentClient } from './dynamodb-client.js';
export type { DynamoClientOptions } from './dynamodb-client.js';
export { DEADLINE_BUDGET, deadlineSignal, sessionClientWorstCaseMs } from './deadline-budget.js';
export { isSessionId, sessionTag } from './session-id.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export type { Logger } from './logger.js';
export { sessionTable, createTableInput, streamsTable, createStreamsTableInput } from './table-schema.js';
