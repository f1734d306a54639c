import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { HttpApi, HttpMethod, type HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, Billing, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Role, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { routeNames, routes, type RouteName } from '../lib/routes.js';
import { sessionTable } from '../lib/table-schema.js';
import { SERVICE_NAME } from '../lib/telemetry.js';
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
  /** Roles of MCP front ends allowed to call the API (they sign requests with SigV4). */
  invokerRoleArns?: string[];
}

export class SessionServiceStack extends Stack {
  readonly table: TableV2;
  readonly api: HttpApi;
  readonly functions: Record<RouteName, SessionFunction>;
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
    });

    const environment: Record<string, string> = {
      TABLE_NAME: this.table.tableName,
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      ...(props.sessionTtlSeconds !== undefined ? { SESSION_TTL_SECONDS: String(props.sessionTtlSeconds) } : {}),
      ...(props.pruneScanLimit !== undefined ? { PRUNE_SCAN_LIMIT: String(props.pruneScanLimit) } : {}),
    };

    const functions: Partial<Record<RouteName, SessionFunction>> = {};
    for (const name of routeNames) {
      const route = routes[name];
      const fn = new SessionFunction(this, `${capitalise(name)}Function`, {
        entry: route.entry,
        environment,
        logRetention: RetentionDays.ONE_MONTH,
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

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint, description: 'Base URL of the sessions API (SigV4, service execute-api)' });
    new CfnOutput(this, 'TableName', { value: this.table.tableName, description: 'DynamoDB table holding the sessions' });
  }

  /** Lets a front end's role call every route of the API (execute-api:Invoke on these routes only). */
  grantInvoke(grantee: IGrantable): void {
    for (const route of this.routes) route.grantInvoke(grantee);
  }
}

const capitalise = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1);
