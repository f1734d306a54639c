/** CloudWatch namespace and service dimension of every metric; the stack's dashboard and alarms read these. */
export const METRICS_NAMESPACE = 'McpSessions';
export const SERVICE_NAME = 'mcp-sessions';

export const METRIC = {
  sessionsStarted: 'SessionsStarted',
  checksActive: 'ChecksActive',
  checksInactive: 'ChecksInactive',
  slides: 'Slides',
  destroys: 'Destroys',
  itemsPruned: 'ItemsPruned',
  storeErrors: 'StoreErrors',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** Counters, flushed once per request. Powertools Metrics (embedded metric format) in Lambda. */
export interface Telemetry {
  count(name: MetricName, value?: number): void;
  flush(): void;
}

export const noTelemetry: Telemetry = { count: () => undefined, flush: () => undefined };
