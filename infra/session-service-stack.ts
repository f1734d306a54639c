import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination, type CfnRoute, type CfnStage, type HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, Billing, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { routeKey, routeNames, routes, type RouteName } from '../lib/routes.js';
import { sessionTable } from '../lib/table-schema.js';
import { functionEnvironment, type EnvironmentSettings } from './function-environment.js';
import { importInvokerRoles, parseInvokerRoleArns } from './invokers.js';
import { acknowledgeInvokeWildcards, acknowledgeNagFindings } from './nag-acknowledgements.js';
import { Operations } from './operations.js';
import { INTEGRATION_TIMEOUT, SessionFunction } from './session-function.js';
import { resolveInfraSettings, type InfraSettings } from './settings.js';
import { encryptTable, grantTableKey, tableKey } from './table-encryption.js';

/** What each handler may do to the table, and nothing more. */
export const TABLE_ACTIONS: Record<RouteName, string[]> = {
  // The prune deletes each expired key with a conditional DeleteItem (no BatchWriteItem).
  start: ['dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:DeleteItem'],
  check: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  destroy: ['dynamodb:DeleteItem'],
};

/**
 * Every setting is also a `-c` context value of the same name (infra/context.ts, README
 * "Configuration"); each is validated at synth, and the defaults are what the stack did before the
 * setting existed.
 */
export interface SessionServiceStackProps extends StackProps, EnvironmentSettings, InfraSettings {
  /** Roles of MCP front ends allowed to call the API (they sign requests with SigV4); same account as the stack. */
  invokerRoleArns?: string[];
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
  // Why API Gateway could not get an answer from the function (timeout, throttle, bad response).
  integrationError: '$context.integrationErrorMessage',
  sourceIp: '$context.identity.sourceIp',
  caller: '$context.identity.userArn',
  error: '$context.error.message',
  authorizerError: '$context.authorizer.error',
};

export class SessionServiceStack extends Stack {
  readonly table: TableV2;
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly functions: Record<RouteName, SessionFunction>;
  readonly operations: Operations;
  readonly httpRoutes: Record<RouteName, HttpRoute>;

  constructor(scope: Construct, id: string, props: SessionServiceStackProps = {}) {
    super(scope, id, props);
    // Everything is validated before any construct (or bundle) is made.
    const settings = resolveInfraSettings(props);
    const invokers = parseInvokerRoleArns(props.invokerRoleArns ?? []);

    const key = tableKey(this, settings.tableKmsKey, settings.retainTable);
    this.table = new TableV2(this, 'Sessions', {
      partitionKey: { name: sessionTable.partitionKey, type: AttributeType.STRING },
      billing: Billing.onDemand({ maxReadRequestUnits: settings.tableMaxReadRequestUnits, maxWriteRequestUnits: settings.tableMaxWriteRequestUnits }),
      timeToLiveAttribute: sessionTable.expiryAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: settings.retainTable ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      deletionProtection: settings.retainTable,
    });
    encryptTable(this.table, key);
    const environment = functionEnvironment(this.table.tableName, props);

    // Every route requires SigV4-signed requests from an IAM principal granted execute-api:Invoke.
    this.api = new HttpApi(this, 'Api', {
      description: 'mcp-sessions: start, check and destroy MCP sessions',
      defaultAuthorizer: new HttpIamAuthorizer(),
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', { retention: settings.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: settings.stageThrottle,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)) },
    });

    const functions: Partial<Record<RouteName, SessionFunction>> = {};
    const httpRoutes: Partial<Record<RouteName, HttpRoute>> = {};
    for (const name of routeNames) {
      const route = routes[name];
      const fn = new SessionFunction(this, `${capitalise(name)}Function`, {
        entry: route.entry,
        environment,
        logRetention: settings.logRetention,
        reservedConcurrency: settings.reservedConcurrency,
      });
      this.table.grant(fn, ...TABLE_ACTIONS[name]);
      grantTableKey(key, fn);
      const [httpRoute] = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${capitalise(name)}Integration`, fn, { timeout: INTEGRATION_TIMEOUT }),
      });
      if (!httpRoute) throw new Error(`no route made for ${routeKey(route)}`);
      functions[name] = fn;
      httpRoutes[name] = httpRoute;
    }
    this.functions = functions as Record<RouteName, SessionFunction>;
    this.httpRoutes = httpRoutes as Record<RouteName, HttpRoute>;
    this.throttleStarts(settings.startThrottle);

    for (const role of importInvokerRoles(this, invokers)) this.grantInvoke(role);

    this.operations = new Operations(this, 'Operations', {
      api: this.api,
      table: this.table,
      functions: Object.values(this.functions),
      ...(settings.alarmTopicArn ? { alarmTopic: Topic.fromTopicArn(this, 'AlarmTopic', settings.alarmTopicArn) } : {}),
    });
    acknowledgeNagFindings(this);

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint, description: 'Base URL of the sessions API (SigV4, service execute-api)' });
    new CfnOutput(this, 'TableName', { value: this.table.tableName, description: 'DynamoDB table holding the sessions' });
    new CfnOutput(this, 'DashboardName', { value: this.operations.dashboard.dashboardName, description: 'CloudWatch dashboard' });
  }

  /**
   * Lets a front end's role call every route of the API (execute-api:Invoke on these routes only), and
   * acknowledges, on that grantee only, exactly the route wildcards this implies (infra/nag-acknowledgements.ts).
   */
  grantInvoke(grantee: IGrantable): void {
    const all = Object.values(this.httpRoutes);
    for (const route of all) route.grantInvoke(grantee);
    acknowledgeInvokeWildcards(grantee, all);
  }

  /**
   * `POST /sessions` gets its own, lower throttle: every MCP initialize, authenticated or not, causes a
   * start, and a start is the only call that writes a new item. HTTP API route throttles are stage route settings keyed by route key;
   * the stage must be created after the route it names, or CloudFormation cannot find it.
   */
  private throttleStarts(limit: { rateLimit: number; burstLimit: number }): void {
    const stage = this.stage.node.defaultChild as CfnStage;
    // Json-typed in CloudFormation, so CDK passes it as written: the keys are CloudFormation's own (PascalCase).
    stage.routeSettings = { [routeKey(routes.start)]: { ThrottlingRateLimit: limit.rateLimit, ThrottlingBurstLimit: limit.burstLimit } };
    stage.addResourceDependency(this.httpRoutes.start.node.defaultChild as CfnRoute);
  }
}

const capitalise = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1);
