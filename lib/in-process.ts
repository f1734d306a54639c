import { systemClock, type Clock } from './clock.js';
import { IN_PROCESS_ENV_PREFIX, loadConfig, loadStreamsConfig, type Environment, type ServiceConfig, type StreamsConfig } from './config.js';
import { createDynamoClient, documentClient } from './dynamodb-client.js';
import { DynamoSessionStore, type StoreEvents } from './dynamo-session-store.js';
import { DynamoSessionStreams } from './dynamo-session-streams.js';
import { silentLogger, type Logger } from './logger.js';

export interface InProcessStoreOptions {
  logger?: Logger;
  clock?: Clock;
  events?: StoreEvents;
}

/**
 * The session store for an MCP server that runs the library in its own process (a Lambda-hosted
 * server skipping the HTTP hop), configured from the variables `McpSessionService.grantInProcess`
 * sets on its function (`MCP_SESSIONS_TABLE_NAME`, and the TTL settings when the service has them).
 * Call it once, at module scope: it validates the environment (ConfigError names a bad variable)
 * and builds the DynamoDB client with the service's timeouts.
 */
export function sessionStoreFromEnvironment(env: Environment, options: InProcessStoreOptions = {}): DynamoSessionStore {
  return storeFromConfig(loadConfig(env, { prefix: IN_PROCESS_ENV_PREFIX }), options);
}

/** The store a config describes, on a DynamoDB client with the service's timeouts; the functions build theirs here too. */
export function storeFromConfig(config: ServiceConfig, options: InProcessStoreOptions = {}): DynamoSessionStore {
  return new DynamoSessionStore({
    client: documentClient(createDynamoClient(config.dynamodbEndpoint !== undefined ? { endpoint: config.dynamodbEndpoint } : {})),
    tableName: config.tableName,
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger,
    ttlSeconds: config.ttlSeconds,
    maxLifetimeSeconds: config.maxLifetimeSeconds,
    pruneScanLimit: config.pruneScanLimit,
    ...(options.events ? { events: options.events } : {}),
  });
}

export interface InProcessStreamsOptions {
  logger?: Logger;
  clock?: Clock;
}

/**
 * The session streams for an MCP server running the library in its own process, configured from
 * `MCP_SESSIONS_STREAMS_TABLE_NAME` (and `MCP_SESSIONS_STREAM_RETENTION_SECONDS`,
 * `MCP_SESSIONS_DYNAMODB_ENDPOINT`). Call it once, at module scope, beside sessionStoreFromEnvironment:
 * the appends' sequence cache lives in the instance, so one per process serves every request.
 */
export function sessionStreamsFromEnvironment(env: Environment, options: InProcessStreamsOptions = {}): DynamoSessionStreams {
  return streamsFromConfig(loadStreamsConfig(env, { prefix: IN_PROCESS_ENV_PREFIX }), options);
}

/** The streams a config describes, on a DynamoDB client with the service's timeouts. */
export function streamsFromConfig(config: StreamsConfig, options: InProcessStreamsOptions = {}): DynamoSessionStreams {
  return new DynamoSessionStreams({
    client: documentClient(createDynamoClient(config.dynamodbEndpoint !== undefined ? { endpoint: config.dynamodbEndpoint } : {})),
    tableName: config.streamsTableName,
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger,
    retentionSeconds: config.retentionSeconds,
  });
}
