import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { systemClock } from './clock.js';
import { loadConfig, type Environment, type ServiceConfig } from './config.js';
import { createDynamoClient, documentClient } from './dynamodb-client.js';
import { DynamoSessionStore } from './dynamo-session-store.js';
import type { Logger } from './logger.js';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME, type Telemetry } from './telemetry.js';

export interface Runtime {
  config: ServiceConfig;
  logger: Logger;
  store: DynamoSessionStore;
  telemetry: Telemetry;
}

/** Powertools Metrics (CloudWatch embedded metric format), published once per request. */
function powertoolsTelemetry(): Telemetry {
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  let pending = false;
  return {
    count(name, value = 1) {
      metrics.addMetric(name, MetricUnit.Count, value);
      pending = true;
    },
    flush() {
      if (!pending) return;
      metrics.publishStoredMetrics();
      pending = false;
    },
  };
}

/** Everything a handler needs, built from the environment; handlers call this once, at module scope. */
export function createRuntime(env: Environment): Runtime {
  const config = loadConfig(env);
  const logger = new PowertoolsLogger({ serviceName: SERVICE_NAME });
  const telemetry = powertoolsTelemetry();
  const client = documentClient(createDynamoClient({ endpoint: config.dynamodbEndpoint }));
  const store = new DynamoSessionStore({
    client,
    tableName: config.tableName,
    clock: systemClock,
    logger,
    ttlSeconds: config.ttlSeconds,
    maxLifetimeSeconds: config.maxLifetimeSeconds,
    pruneScanLimit: config.pruneScanLimit,
    events: { slid: () => telemetry.count(METRIC.slides), pruned: (count) => telemetry.count(METRIC.itemsPruned, count) },
  });
  return { config, logger, store, telemetry };
}
