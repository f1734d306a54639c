import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { loadConfig, type Environment, type ServiceConfig } from './config.js';
import type { DynamoSessionStore } from './dynamo-session-store.js';
import { storeFromConfig } from './in-process.js';
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
  const store = storeFromConfig(config, {
    logger,
    events: { slid: () => telemetry.count(METRIC.slides), pruned: (count) => telemetry.count(METRIC.itemsPruned, count) },
  });
  return { config, logger, store, telemetry };
}
