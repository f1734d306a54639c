import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination, type HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, Billing, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Role, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { routeNames, routes, type RouteName } from '../lib/routes.js';
import { sessionTable } from '../lib/table-schema.js';
import { SERVICE_NAME } from '../lib/telemetry.js';
import { acknowledgeNagFindings } from './nag-acknowledgements.js';
import { Operations } from './operations.js';
import { SessionFunction } from './session-function.js';

/** What each handler may do to the table, and nothing more. */
const TABLE_ACTIONS: Record<RouteName, string[]> = {
  start: ['dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:BatchWriteItem'],
  check: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  destroy: ['dynamodb:DeleteItem'],
};

export interface SessionServiceStackProps extends StackProps {
  /** RETAIN (default) keeps the table, with deletion protection, when the stack goes; DESTROY is for dev stacks. */
  tableRemoval?: 'retain' | 'destroy';
  sessionTtlSeconds?: number;
  pruneScanLimit?: number;
  sessionMaxLifetimeSeconds?: number;
  /** Roles of MCP front ends allowed to call the API (they sign requests with SigV4). */
  invokerRoleArns?: string[];
  /** Stage throttling: steady requests per second and burst (defaults 500 and 1000). */
  throttleRateLimit?: number;
  throttleBurstLimit?: number;
  /** An SNS topic the alarms notify. */
  alarmTopicArn?: string;
}

/** Access log line: the route key, never the raw path, so no session id is ever logged. */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  time: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  sourceIp: '$context.identity.sourceIp',
  caller: '$context.identity.userArn',
  error: '$context.error.message',
  authorizerError: '$context.authorizer.error',
};

const LOG_RETENTION = RetentionDays.ONE_MONTH;

export class SessionServiceStack extends Stack {
  readonly table: TableV2;
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly functions: Record<RouteName, SessionFunction>;
  readonly operations: Operations;
  private readonly routes: HttpRoute[] = [];

  constructor(scope: Construct, id: string, props: SessionServiceStackProps = {}) {
    super(scope, id, props);
    const retain = (props.tableRemoval ?? 'retain') === 'retain';

    this.table = new TableV2(this, 'Sessions', {
      partitionKey: { name: sessionTable.partitionKey, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      timeToLiveAttribute: sessionTable.expiryAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      deletionProtection: retain,
    });

    // Every route requires SigV4-signed requests from an IAM principal granted execute-api:Invoke.
    this.api = new HttpApi(this, 'Api', {
      description: 'mcp-sessions: start, check and destroy MCP sessions',
      defaultAuthorizer: new HttpIamAuthorizer(),
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', { retention: LOG_RETENTION, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit ?? 500, burstLimit: props.throttleBurstLimit ?? 1000 },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)) },
    });

    const environment: Record<string, string> = {
      TABLE_NAME: this.table.tableName,
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      ...(props.sessionTtlSeconds !== undefined ? { SESSION_TTL_SECONDS: String(props.sessionTtlSeconds) } : {}),
      ...(props.pruneScanLimit !== undefined ? { PRUNE_SCAN_LIMIT: String(props.pruneScanLimit) } : {}),
      ...(props.sessionMaxLifetimeSeconds !== undefined ? { SESSION_MAX_LIFETIME_SECONDS: String(props.sessionMaxLifetimeSeconds) } : {}),
      POWERTOOLS_LOG_LEVEL: 'INFO',
    };

    const functions: Partial<Record<RouteName, SessionFunction>> = {};
    for (const name of routeNames) {
      const route = routes[name];
      const fn = new SessionFunction(this, `${capitalise(name)}Function`, {
        entry: route.entry,
        environment,
        logRetention: LOG_RETENTION,
      });
      this.table.grant(fn, ...TABLE_ACTIONS[name]);
      this.routes.push(
        ...this.api.addRoutes({
          path: route.path,
          methods: [HttpMethod[route.method]],
          integration: new HttpLambdaIntegration(`${capitalise(name)}Integration`, fn),
        }),
      );
      functions[name] = fn;
    }
    this.functions = functions as Record<RouteName, SessionFunction>;

    (props.invokerRoleArns ?? []).forEach((arn, i) => this.grantInvoke(Role.fromRoleArn(this, `Invoker${i}`, arn)));

    this.operations = new Operations(this, 'Operations', {
      api: this.api,
      table: this.table,
      functions: Object.values(this.functions),
      ...(props.alarmTopicArn ? { alarmTopic: Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn) } : {}),
    });
    acknowledgeNagFindings(this);

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint, description: 'Base URL of the sessions API (SigV4, service execute-api)' });
    new CfnOutput(this, 'TableName', { value: this.table.tableName, description: 'DynamoDB table holding the sessions' });
    new CfnOutput(this, 'DashboardName', { value: this.operations.dashboard.dashboardName, description: 'CloudWatch dashboard' });
  }

  /** Lets a front end's role call every route of the API (execute-api:Invoke on these routes only). */
  grantInvoke(grantee: IGrantable): void {
    for (const route of this.routes) route.grantInvoke(grantee);
  }
}

const capitalise = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1);
