import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { systemClock } from './clock.js';
import { loadConfig, type Environment, type ServiceConfig } from './config.js';
import { createDynamoClient, documentClient } from './dynamodb-client.js';
import { DynamoSessionStore } from './dynamo-session-store.js';
import type { Logger } from './logger.js';

export interface Runtime {
  config: ServiceConfig;
  logger: Logger;
  store: DynamoSessionStore;
}

export const SERVICE_NAME = 'mcp-sessions';

/** Everything a handler needs, built from the environment; handlers call this once, at module scope. */
export function createRuntime(env: Environment): Runtime {
  const config = loadConfig(env);
  const logger = new PowertoolsLogger({ serviceName: SERVICE_NAME });
  const client = documentClient(createDynamoClient({ endpoint: config.dynamodbEndpoint }));
  const store = new DynamoSessionStore({
    client,
    tableName: config.tableName,
    clock: systemClock,
    logger,
    ttlSeconds: config.ttlSeconds,
    maxLifetimeSeconds: config.maxLifetimeSeconds,
    pruneScanLimit: config.pruneScanLimit,
  });
  return { config, logger, store };
}
