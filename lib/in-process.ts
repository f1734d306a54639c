import { systemClock, type Clock } from './clock.js';
import { IN_PROCESS_ENV_PREFIX, loadConfig, type Environment, type ServiceConfig } from './config.js';
import { createDynamoClient, documentClient } from './dynamodb-client.js';
import { DynamoSessionStore, type StoreEvents } from './dynamo-session-store.js';
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
