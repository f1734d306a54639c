import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination, type CfnRoute, type CfnStage, type HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import { AttributeType, Billing, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { routeKey, routeNames, routes, type RouteName } from '../lib/routes.js';
import { sessionTable, streamsTable } from '../lib/table-schema.js';
import { ACCESS_LOG_FIELDS } from './access-log.js';
import { functionEnvironment, inProcessEnvironment, type EnvironmentSettings } from './function-environment.js';
import { resolveHandlerCode, type HandlerCode } from './handler-code.js';
import { importInvokerRoles, parseInvokerRoleArns } from './invokers.js';
import { acknowledgeInvokeWildcards, acknowledgeNagFindings, distinctRouteArns } from './nag-acknowledgements.js';
import { Operations } from './operations.js';
import { createSessionFunction, INTEGRATION_TIMEOUT } from './session-function.js';
import { resolveInfraSettings, type InfraSettings } from './settings.js';
import { IN_PROCESS_STREAMS_TABLE_ACTIONS, IN_PROCESS_TABLE_ACTIONS, STREAMS_TABLE_ACTIONS, TABLE_ACTIONS } from './table-access.js';
import { encryptTable, grantTableKey, tableKey } from './table-encryption.js';

/**
 * Every setting is validated at synth (the function settings with the functions' own rules,
 * lib/config.ts), and the error names the setting; the defaults are what the service did before the
 * setting existed. The repository's own app reads the same settings from `-c` context (infra/context.ts).
 */
export interface McpSessionServiceProps extends EnvironmentSettings, InfraSettings {
  /** Roles of MCP front ends allowed to call the API (they sign requests with SigV4); same account as the stack. `grantInvoke` does the same in code. */
  invokerRoleArns?: string[];
  /**
   * `prebuilt` (default): deploy the handler bundles the package ships. `bundle-from-source`: bundle
   * this repository's `functions/*.ts` with esbuild at synth (the repository's own app; needs its sources and lock file).
   */
  handlerCode?: HandlerCode;
  /**
   * With `prebuilt`: the directory holding one `<route>/index.js` per route (`start/index.js`,
   * `check/index.js`, ..., as `npm run build` writes them). Default: the bundles inside the installed package.
   */
  bundlesDirectory?: string;
}

/** A user's function that runs the library in-process: it takes a grant and environment variables, as `lambda.Function` does. */
export interface InProcessGrantee extends IGrantable {
  addEnvironment(key: string, value: string): unknown;
}

/**
 * The session service as one construct, for a user's own stack next to their MCP server: the sessions
 * table and the session streams table, one function per route (start, check, destroy, updateState;
 * appendMessage, readMessages, lastSeq, removeStream) behind an HTTP API that requires IAM (SigV4)
 * authorization, stage and route throttles, JSON access logs, a dashboard and alarms.
 * `grantInvoke` lets a front end call the API; `grantInProcess` lets a Lambda-hosted MCP server use the
 * tables directly with `sessionStoreFromEnvironment` and `sessionStreamsFromEnvironment` and skip the HTTP hop.
 */
export class McpSessionService extends Construct {
  readonly table: TableV2;
  /** The session streams (lib/session-streams.ts): a table of its own, as the sessions table's key schema cannot change. */
  readonly streamsTable: TableV2;
  /** The tables' customer-managed key, when `tableKmsKey` asks for one (one key for both). */
  readonly tableKey: IKey | undefined;
  readonly api: HttpApi;
  /** The API's base URL (the `$default` stage): what `SessionClient` takes as its base URL. */
  readonly apiUrl: string;
  readonly stage: HttpStage;
  readonly functions: Readonly<Record<RouteName, LambdaFunction>>;
  readonly httpRoutes: Readonly<Record<RouteName, HttpRoute>>;
  readonly operations: Operations;
  readonly dashboard: Dashboard;
  /** The validated function settings, which in-process grantees get too. */
  private readonly environmentSettings: EnvironmentSettings;

  constructor(scope: Construct, id: string, props: McpSessionServiceProps = {}) {
    super(scope, id);
    // Everything is validated, and the handlers' code found, before any construct (or bundle) is made.
    const settings = resolveInfraSettings(props);
    const invokers = parseInvokerRoleArns(props.invokerRoleArns ?? []);
    this.environmentSettings = {
      sessionTtlSeconds: props.sessionTtlSeconds,
      sessionMaxLifetimeSeconds: props.sessionMaxLifetimeSeconds,
      pruneScanLimit: props.pruneScanLimit,
      streamRetentionSeconds: props.streamRetentionSeconds,
    };
    // The function settings, checked now with the functions' own rules; the real table names come later.
    functionEnvironment({ sessions: 'validated-at-synth', streams: 'validated-at-synth' }, this.environmentSettings);
    const code = resolveHandlerCode(props.handlerCode, props.bundlesDirectory);

    this.tableKey = tableKey(this, settings.tableKmsKey, settings.retainTable);
    // Both tables: the same throughput cap, recovery, retention and key.
    const tableSettings = {
      billing: Billing.onDemand({ maxReadRequestUnits: settings.tableMaxReadRequestUnits, maxWriteRequestUnits: settings.tableMaxWriteRequestUnits }),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: settings.retainTable ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      deletionProtection: settings.retainTable,
    };
    this.table = new TableV2(this, 'Sessions', {
      partitionKey: { name: sessionTable.partitionKey, type: AttributeType.STRING },
      timeToLiveAttribute: sessionTable.expiryAttribute,
      ...tableSettings,
    });
    encryptTable(this.table, this.tableKey);
    this.streamsTable = new TableV2(this, 'Streams', {
      partitionKey: { name: streamsTable.partitionKey, type: AttributeType.STRING },
      sortKey: { name: streamsTable.sortKey, type: AttributeType.STRING },
      timeToLiveAttribute: streamsTable.expiryAttribute,
      ...tableSettings,
    });
    encryptTable(this.streamsTable, this.tableKey);
    const environment = functionEnvironment(this.tableNames(), this.environmentSettings);

    // Every route requires SigV4-signed requests from an IAM principal granted execute-api:Invoke.
    this.api = new HttpApi(this, 'Api', {
      description: 'mcp-sessions: MCP sessions, their state and their message streams',
      defaultAuthorizer: new HttpIamAuthorizer(),
      createDefaultStage: false,
    });
    this.apiUrl = this.api.apiEndpoint;
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', { retention: settings.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: settings.stageThrottle,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)) },
    });

    const functions: Partial<Record<RouteName, LambdaFunction>> = {};
    const httpRoutes: Partial<Record<RouteName, HttpRoute>> = {};
    for (const name of routeNames) {
      const route = routes[name];
      const fn = createSessionFunction(this, `${capitalise(name)}Function`, {
        route: name,
        code,
        environment,
        logRetention: settings.logRetention,
        reservedConcurrency: settings.reservedConcurrency,
      });
      // Each function only the actions it uses, on only the table it uses.
      if (TABLE_ACTIONS[name].length > 0) this.table.grant(fn, ...TABLE_ACTIONS[name]);
      if (STREAMS_TABLE_ACTIONS[name].length > 0) this.streamsTable.grant(fn, ...STREAMS_TABLE_ACTIONS[name]);
      grantTableKey(this.tableKey, fn);
      const [httpRoute] = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${capitalise(name)}Integration`, fn, { timeout: INTEGRATION_TIMEOUT }),
      });
      if (!httpRoute) throw new Error(`no route made for ${routeKey(route)}`);
      functions[name] = fn;
      httpRoutes[name] = httpRoute;
    }
    this.functions = functions as Record<RouteName, LambdaFunction>;
    this.httpRoutes = httpRoutes as Record<RouteName, HttpRoute>;
    this.throttleStarts(settings.startThrottle);

    for (const role of importInvokerRoles(this, invokers)) this.grantInvoke(role);

    this.operations = new Operations(this, 'Operations', {
      api: this.api,
      table: this.table,
      streamsTable: this.streamsTable,
      functions: Object.values(this.functions),
      ...(settings.alarmTopicArn ? { alarmTopic: Topic.fromTopicArn(this, 'AlarmTopic', settings.alarmTopicArn) } : {}),
    });
    this.dashboard = this.operations.dashboard;
    acknowledgeNagFindings(this);
  }

  /**
   * Lets a front end's role call every route of the API (execute-api:Invoke on the routes of
   * lib/routes.ts, one statement per distinct route ARN: POST /sessions, and GET, DELETE, PATCH and
   * POST under /sessions/*; nothing else), and acknowledges, on that grantee only, exactly the route wildcards this implies
   * (infra/nag-acknowledgements.ts). The grantee must be in this stack's account: an HTTP API has no resource policy.
   */
  grantInvoke(grantee: IGrantable): Grant {
    const all = Object.values(this.httpRoutes);
    const [first, ...rest] = distinctRouteArns(all).map((route) => route.grantInvoke(grantee));
    if (!first) throw new Error('the API has no routes');
    acknowledgeInvokeWildcards(grantee, all);
    return rest.reduce((combined, grant) => combined.combine(grant), first);
  }

  /**
   * For an MCP server on Lambda that uses the library in-process (`sessionStoreFromEnvironment(process.env)`
   * and `sessionStreamsFromEnvironment(process.env)` from `mcp-sessions`) instead of calling the API.
   * In one call, as the two must go together:
   * - sets the environment that function reads: `MCP_SESSIONS_TABLE_NAME`, `MCP_SESSIONS_STREAMS_TABLE_NAME`,
   *   and `MCP_SESSIONS_SESSION_TTL_SECONDS`, `MCP_SESSIONS_SESSION_MAX_LIFETIME_SECONDS`,
   *   `MCP_SESSIONS_PRUNE_SCAN_LIMIT`, `MCP_SESSIONS_STREAM_RETENTION_SECONDS` when this service sets
   *   them, so both paths keep the same lifetimes;
   * - grants exactly the actions the store and the streams use (GetItem, PutItem, UpdateItem,
   *   DeleteItem, Scan on the sessions table; PutItem, Query, BatchWriteItem on the streams table; no
   *   other resource) and, with a customer-managed key, that key's use through DynamoDB only.
   *
   * `fn` is typically a `lambda.Function` (or `NodejsFunction`); anything with `addEnvironment` and a grant principal works.
   */
  grantInProcess(fn: InProcessGrantee): Grant {
    for (const [key, value] of Object.entries(inProcessEnvironment(this.tableNames(), this.environmentSettings))) fn.addEnvironment(key, value);
    const grant = this.table.grant(fn, ...IN_PROCESS_TABLE_ACTIONS).combine(this.streamsTable.grant(fn, ...IN_PROCESS_STREAMS_TABLE_ACTIONS));
    const keyGrant = grantTableKey(this.tableKey, fn);
    return keyGrant ? grant.combine(keyGrant) : grant;
  }

  private tableNames(): { sessions: string; streams: string } {
    return { sessions: this.table.tableName, streams: this.streamsTable.tableName };
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
