import { Duration } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, AlarmStatusWidget, ComparisonOperator, Dashboard, GraphWidget, MathExpression, Metric, TextWidget, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME, type MetricName } from '../lib/telemetry.js';
import { IN_PROCESS_STREAMS_TABLE_ACTIONS, IN_PROCESS_TABLE_ACTIONS } from './table-access.js';

export interface OperationsProps {
  api: HttpApi;
  table: TableV2;
  streamsTable: TableV2;
  functions: IFunction[];
  /** Where alarms notify; alarms exist (and show on the dashboard) either way. */
  alarmTopic?: ITopic;
}

const PERIOD = Duration.minutes(5);

/** The service's own metrics, as Powertools publishes them (namespace + service dimension). */
export const serviceMetric = (name: MetricName): Metric =>
  new Metric({ namespace: METRICS_NAMESPACE, metricName: name, dimensionsMap: { service: SERVICE_NAME }, statistic: 'Sum', period: PERIOD });

/** A dashboard of what operators watch, and the alarms that wake them (see README "Operations"). */
export class Operations extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    const { api, table, streamsTable, functions } = props;
    // Ids must be unique across every expression shown on one graph, hence the prefix. FILL: these
    // metrics are sparse (no datapoint when nothing happened), and a sum with one series missing at a
    // timestamp is missing there, so one function's throttles would vanish beside two quiet ones.
    const sum = (prefix: string, metrics: IMetric[], label: string): MathExpression =>
      new MathExpression({
        expression: metrics.map((_, i) => `FILL(${prefix}${i}, 0)`).join(' + '),
        usingMetrics: Object.fromEntries(metrics.map((m, i) => [`${prefix}${i}`, m])),
        label,
        period: PERIOD,
      });

    const requests = api.metricCount({ period: PERIOD, statistic: 'Sum' });
    const serverErrors = api.metricServerError({ period: PERIOD, statistic: 'Sum' });
    const clientErrors = api.metricClientError({ period: PERIOD, statistic: 'Sum' });
    const latencyP99 = api.metricLatency({ period: PERIOD, statistic: 'p99' });
    // A percentage only where there were requests; FILL so a period with requests and no 5xx datapoint reads 0 %.
    const serverErrorRate = new MathExpression({
      expression: 'IF(FILL(requests, 0) > 0, 100 * FILL(errors, 0) / FILL(requests, 0), 0)',
      usingMetrics: { errors: serverErrors, requests },
      label: 'API 5xx %',
      period: PERIOD,
    });
    const lambdaErrors = sum('errors', functions.map((fn) => fn.metricErrors({ period: PERIOD })), 'Lambda errors');
    const lambdaThrottles = sum('throttles', functions.map((fn) => fn.metricThrottles({ period: PERIOD })), 'Lambda throttles');
    // One series per operation the functions may use on a table (the actions they are granted;
    // CloudWatch's Operation dimension is the API name, `dynamodb:GetItem` -> `GetItem`), summed with FILL.
    const throttled = (of: TableV2, actions: readonly string[], prefix: string, label: string): MathExpression =>
      sum(
        prefix,
        actions.map((action) => action.replace(/^dynamodb:/, '')).map((operation) =>
          of.metric('ThrottledRequests', { dimensionsMap: { TableName: of.tableName, Operation: operation }, statistic: 'Sum', period: PERIOD }),
        ),
        label,
      );
    const dynamoThrottles = throttled(table, IN_PROCESS_TABLE_ACTIONS, 'throttled', 'DynamoDB throttled requests');
    const streamsThrottles = throttled(streamsTable, IN_PROCESS_STREAMS_TABLE_ACTIONS, 'streamsThrottled', 'DynamoDB throttled requests (streams)');
    const storeErrors = serviceMetric(METRIC.storeErrors);

    const alarm = (name: string, metric: IMetric, threshold: number, description: string, evaluationPeriods = 1) => {
      const created = new Alarm(this, name, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      if (props.alarmTopic) created.addAlarmAction(new SnsAction(props.alarmTopic));
      this.alarms.push(created);
      return created;
    };
    alarm('ServerErrorRate', serverErrorRate, 1, 'API 5xx >= 1% of requests for 10 minutes: session or stream calls are failing (see README, Operations).', 2);
    alarm('StoreErrors', storeErrors, 5, '>= 5 requests in 5 minutes answered 503 because DynamoDB failed or throttled.');
    alarm('LambdaThrottles', lambdaThrottles, 1, 'A session function was throttled: account or reserved concurrency reached.');
    alarm('DynamoThrottles', dynamoThrottles, 1, 'DynamoDB throttled requests on the sessions table.');
    alarm('StreamsDynamoThrottles', streamsThrottles, 1, 'DynamoDB throttled requests on the session streams table.');
    alarm('LatencyP99', latencyP99, 1000, 'API p99 latency >= 1 s for 15 minutes.', 3);

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    const graph = (title: string, left: IMetric[]) => new GraphWidget({ title, left, width: 8, height: 6 });
    this.dashboard.addWidgets(
      new TextWidget({ markdown: '# mcp-sessions\nSessions, API, functions and tables. Alarms and what to do: README, section Operations.', width: 24, height: 2 }),
    );
    this.dashboard.addWidgets(
      graph('Sessions', [serviceMetric(METRIC.sessionsStarted), serviceMetric(METRIC.destroys), serviceMetric(METRIC.itemsPruned)]),
      graph('Checks', [serviceMetric(METRIC.checksActive), serviceMetric(METRIC.checksInactive), serviceMetric(METRIC.slides)]),
      graph('Store errors (503s)', [storeErrors]),
    );
    this.dashboard.addWidgets(
      graph('API requests and errors', [requests, clientErrors, serverErrors]),
      graph('API latency p99 (ms)', [latencyP99]),
      graph('Lambda errors and throttles', [lambdaErrors, lambdaThrottles]),
    );
    this.dashboard.addWidgets(
      graph('DynamoDB throttled requests', [dynamoThrottles, streamsThrottles]),
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 16, height: 6 }),
    );
  }
}
