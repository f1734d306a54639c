import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { NAG_ACKNOWLEDGEMENTS } from '../infra/nag-acknowledgements.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { McpSessionService } from '../infra/mcp-session-service.js';
import { DEADLINE_BUDGET } from '../lib/deadline-budget.js';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { TABLE_ACTIONS } from '../infra/table-access.js';
import { routeKey, routeNames, routes, type RouteName } from '../lib/routes.js';
import { createStreamsTableInput } from '../lib/table-schema.js';
import { actionsOf, serviceInStack, statementsAllowing, synthService as synth, type Statement } from './support/synth-stack.js';

describe('McpSessionService in a user\'s stack', () => {
  let template: Template;
  let stack: Stack;
  let service: McpSessionService;
  beforeAll(() => ({ stack, service, template } = synth()));

  const tableResource = (table: TableV2) => template.toJSON().Resources[stack.getLogicalId(table.node.defaultChild as never)] as { Properties: Record<string, unknown>; DeletionPolicy: string };

  it('has a TableV2: sessionId key, on-demand, TTL on expiresAt, PITR, retained with deletion protection', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 2);
    expect(tableResource(service.table).Properties.KeySchema).toEqual([{ AttributeName: 'sessionId', KeyType: 'HASH' }]);
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [{ AttributeName: 'sessionId', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'sessionId', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        Replicas: [
          Match.objectLike({
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
            DeletionProtectionEnabled: true,
          }),
        ],
      },
    });
  });

  it('has a second TableV2 for the session streams: sessionId + stream keys, on-demand, TTL on expiresAt, PITR, retained with deletion protection', () => {
    const streams = tableResource(service.streamsTable);
    expect(streams.DeletionPolicy).toBe('Retain');
    expect(streams.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'sessionId', KeyType: 'HASH' },
        { AttributeName: 'stream', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'sessionId', AttributeType: 'S' },
        { AttributeName: 'stream', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      Replicas: [expect.objectContaining({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: true })],
    });
    // The stack's table schema and the local/test one are one description (lib/table-schema.ts).
    const input = createStreamsTableInput('x');
    expect(streams.Properties.KeySchema).toEqual(input.KeySchema);
    expect(streams.Properties.AttributeDefinitions).toEqual(input.AttributeDefinitions);
  });

  it('a dev stack may destroy its tables, and then drops deletion protection', () => {
    const dev = synth({ tableRemoval: 'destroy' }).template;
    const tables = Object.values(dev.findResources('AWS::DynamoDB::GlobalTable'));
    expect(tables).toHaveLength(2);
    for (const table of tables) {
      expect(table.DeletionPolicy).toBe('Delete');
      expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(false);
    }
  });

  it('has one Node.js 24 arm64 function per route, configured with both table names, 512 MB, and the Lambda timeout from DEADLINE_BUDGET.lambdaTimeoutSeconds', () => {
    template.resourceCountIs('AWS::Lambda::Function', routeNames.length);
    expect(Object.keys(service.functions).sort()).toEqual([...routeNames].sort());
    const functions = template.findResources('AWS::Lambda::Function');
    for (const fn of Object.values(functions)) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler', MemorySize: 512, Timeout: DEADLINE_BUDGET.lambdaTimeoutSeconds });
      expect(fn.Properties.Environment.Variables.TABLE_NAME).toEqual({ Ref: stack.getLogicalId(service.table.node.defaultChild as never) });
      expect(fn.Properties.Environment.Variables.STREAMS_TABLE_NAME).toEqual({ Ref: stack.getLogicalId(service.streamsTable.node.defaultChild as never) });
    }
  });

  it('sets each route\'s API Gateway integration timeout just above the Lambda timeout, not the 30 s default', () => {
    const integrations = Object.values(template.findResources('AWS::ApiGatewayV2::Integration'));
    expect(integrations).toHaveLength(Object.keys(routes).length);
    const lambdaMs = DEADLINE_BUDGET.lambdaTimeoutSeconds * 1000;
    for (const integration of integrations) {
      const timeout = integration.Properties.TimeoutInMillis as number;
      expect(timeout).toBeGreaterThan(lambdaMs);
      expect(timeout).toBeLessThanOrEqual(lambdaMs + 1000);
    }
  });

  it('grants each function only the actions it uses, on only the table it uses (start: PutItem, Scan, DeleteItem for the conditional prune; updateState: UpdateItem; no BatchWriteItem on the sessions table)', () => {
    const sessionsArn = { 'Fn::GetAtt': [stack.getLogicalId(service.table.node.defaultChild as never), 'Arn'] };
    const streamsArn = { 'Fn::GetAtt': [stack.getLogicalId(service.streamsTable.node.defaultChild as never), 'Arn'] };
    const expected: Record<RouteName, { sessions?: string[]; streams?: string[] }> = {
      start: { sessions: ['dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:Scan'] },
      check: { sessions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] },
      destroy: { sessions: ['dynamodb:DeleteItem'] },
      updateState: { sessions: ['dynamodb:UpdateItem'] },
      appendMessage: { streams: ['dynamodb:PutItem', 'dynamodb:Query'] },
      readMessages: { streams: ['dynamodb:Query'] },
      lastSeq: { streams: ['dynamodb:Query'] },
      removeStream: { streams: ['dynamodb:BatchWriteItem', 'dynamodb:Query'] },
    };
    const policies = template.findResources('AWS::IAM::Policy');
    const logActions = ['logs:CreateLogStream', 'logs:PutLogEvents'];
    for (const name of routeNames) {
      const role = stack.getLogicalId(service.functions[name].role?.node.defaultChild as never);
      const attached = Object.values(policies).filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role));
      const statements = attached.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
      const { sessions = [], streams = [] } = expected[name];
      expect(actionsOf(statements), name).toEqual([...sessions, ...streams, ...logActions].sort());
      // Each table statement names exactly its table: no index, no wildcard, never the other table.
      const onTable = (arn: unknown) => statements.filter((st) => JSON.stringify(st.Resource) === JSON.stringify(arn));
      expect(actionsOf(onTable(sessionsArn)), `${name} on the sessions table`).toEqual([...sessions].sort());
      expect(actionsOf(onTable(streamsArn)), `${name} on the streams table`).toEqual([...streams].sort());
      const dynamo = statements.filter((st) => actionsOf([st]).some((action) => action.startsWith('dynamodb:')));
      expect(dynamo.length, name).toBe(onTable(sessionsArn).length + onTable(streamsArn).length);
    }
    for (const name of routeNames) expect([...TABLE_ACTIONS[name]].sort()).toEqual(expected[name].sessions ?? []);
    expect(statementsAllowing(template, 'dynamodb:BatchWriteItem').map((st) => st.Resource)).toEqual([streamsArn]);
    // No AWS managed policies: each role has exactly the inline grants above.
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('routes every declared route through an IAM-authorised HTTP API, and nothing else', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    const apiRoutes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    expect(apiRoutes.map((r) => r.Properties.RouteKey).sort()).toEqual(Object.values(routes).map(routeKey).sort());
    for (const route of apiRoutes) expect(route.Properties.AuthorizationType).toBe('AWS_IAM');
    template.allResourcesProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
  });

  it('grantInvoke lets a front end role call exactly these routes with execute-api:Invoke', () => {
    const withInvoker = serviceInStack();
    const frontEnd = new Role(withInvoker.stack, 'FrontEnd', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    withInvoker.service.grantInvoke(frontEnd);
    const statements = Object.values(Template.fromStack(withInvoker.stack).findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
      .filter((s) => actionsOf([s]).includes('execute-api:Invoke'));
    // One statement per distinct route ARN (CDK's ARN keeps a path up to its first parameter), each
    // scoped to a method and path on this API's stages: together, exactly the routes.
    const resources = statements.map((s) => JSON.stringify(s.Resource));
    const paths = ['/POST/sessions"', '/GET/sessions/*"', '/DELETE/sessions/*"', '/PATCH/sessions/*"', '/POST/sessions/*"'];
    expect(statements).toHaveLength(paths.length);
    for (const path of paths) expect(resources.filter((r) => r.includes(path))).toHaveLength(1);
    expect(actionsOf(statements)).toEqual(Array(paths.length).fill('execute-api:Invoke'));
    // Every route is covered by one of them.
    for (const route of Object.values(routes)) {
      const prefix = `/${route.method}${route.path.replace(/\{.*$/, '')}`;
      expect(resources.some((r) => r.includes(route.path.includes('{') ? `${prefix}*"` : `${prefix}"`)), routeKey(route)).toBe(true);
    }
  });

  it('sets a retention on every log group: 30 days by default, or logRetentionDays', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(routeNames.length + 1); // one per function and the API access log
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(30);
    const week = Object.values(synth({ logRetentionDays: 7 }).template.findResources('AWS::Logs::LogGroup'));
    expect(week.map((group) => group.Properties.RetentionInDays)).toEqual(Array(routeNames.length + 1).fill(7));
  });

  it('logs API access as JSON with the route key, never the raw path (which holds session ids), and the integration error message', () => {
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0];
    expect(stage?.Properties).toMatchObject({ StageName: '$default', AutoDeploy: true });
    const format = JSON.parse(String(stage?.Properties.AccessLogSettings.Format)) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey', status: '$context.status', integrationError: '$context.integrationErrorMessage' });
    const used = Object.values(format).join(' ');
    for (const pathVariable of ['$context.path', '$context.resourcePath', '$input', '$context.requestOverride']) expect(used).not.toContain(pathVariable);
  });

  it('throttles the stage, 500/s burst 1000 by default or as configured', () => {
    expect(Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0]?.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 });
    const custom = synth({ throttleRateLimit: 50, throttleBurstLimit: 100 }).template;
    expect(Object.values(custom.findResources('AWS::ApiGatewayV2::Stage'))[0]?.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
  });

  it('throttles POST /sessions with its own route setting below the stage\'s (50/s burst 100 by default, or as configured), after the route exists', () => {
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0];
    expect(stage?.Properties.RouteSettings).toEqual({ 'POST /sessions': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 } });
    // CloudFormation finds route settings by route key, so the stage must be made after the route.
    const startRoute = stack.getLogicalId(service.httpRoutes.start.node.defaultChild as never);
    expect(stage?.DependsOn).toContain(startRoute);
    const custom = Object.values(synth({ startThrottleRateLimit: 5, startThrottleBurstLimit: 10 }).template.findResources('AWS::ApiGatewayV2::Stage'))[0];
    expect(custom?.Properties.RouteSettings).toEqual({ 'POST /sessions': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 } });
    // A stage set below the start defaults pulls the start throttle down with it.
    const lowStage = Object.values(synth({ throttleRateLimit: 20, throttleBurstLimit: 40 }).template.findResources('AWS::ApiGatewayV2::Stage'))[0];
    expect(lowStage?.Properties.RouteSettings).toEqual({ 'POST /sessions': { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 } });
  });

  it('has a dashboard and the six alarms, notifying a topic when one is given', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    for (const metric of ['SessionsStarted', 'ChecksActive', 'ChecksInactive', 'Slides', 'Destroys', 'ItemsPruned', 'StoreErrors', '5xx', '4xx', 'Latency', 'Throttles', 'ThrottledRequests']) {
      expect(body).toContain(metric);
    }
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(6);
    const described = alarms.map((a) => String(a.Properties.AlarmDescription));
    for (const topic of ['5xx', '503', 'throttled', 'DynamoDB throttled requests on the sessions table', 'DynamoDB throttled requests on the session streams table', 'p99']) {
      expect(described.some((d) => d.includes(topic))).toBe(true);
    }
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toBeUndefined();
    const notified = synth({ alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:pager' }).template;
    for (const alarm of Object.values(notified.findResources('AWS::CloudWatch::Alarm'))) expect(alarm.Properties.AlarmActions).toEqual(['arn:aws:sns:us-east-1:123456789012:pager']);
  });

  it('each table\'s throttle alarm watches exactly the operations its functions are granted, on that table', () => {
    const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm'));
    const watched = (logicalIdPrefix: string) => {
      const [, alarm] = alarms.find(([id]) => id.startsWith(logicalIdPrefix)) ?? [];
      const metrics = (alarm?.Properties.Metrics ?? []) as { MetricStat?: { Metric: { Dimensions: { Name: string; Value: unknown }[] } } }[];
      return metrics.flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric.Dimensions] : []));
    };
    const operations = (dimensions: { Name: string; Value: unknown }[][]) => dimensions.map((d) => d.find((x) => x.Name === 'Operation')?.Value).sort();
    const tables = (dimensions: { Name: string; Value: unknown }[][]) => [...new Set(dimensions.map((d) => JSON.stringify(d.find((x) => x.Name === 'TableName')?.Value)))];
    const sessions = watched('SessionsOperationsDynamoThrottles');
    const streams = watched('SessionsOperationsStreamsDynamoThrottles');
    expect(operations(sessions)).toEqual(['DeleteItem', 'GetItem', 'PutItem', 'Scan', 'UpdateItem']);
    expect(operations(streams)).toEqual(['BatchWriteItem', 'PutItem', 'Query']);
    expect(tables(sessions)).toEqual([JSON.stringify({ Ref: stack.getLogicalId(service.table.node.defaultChild as never) })]);
    expect(tables(streams)).toEqual([JSON.stringify({ Ref: stack.getLogicalId(service.streamsTable.node.defaultChild as never) })]);
  });

  it('alarm math fills sparse metrics with FILL(m, 0) and puts no constant inside a series array', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    const expressions = alarms.flatMap((a) => ((a.Properties.Metrics ?? []) as { Expression?: string }[]).flatMap((m) => (m.Expression ? [m.Expression] : [])));
    expect(expressions.length).toBeGreaterThanOrEqual(3); // 5xx rate, Lambda throttles, DynamoDB throttles
    for (const alarm of alarms) {
      const metrics = (alarm.Properties.Metrics ?? []) as { Id: string; Expression?: string; MetricStat?: unknown }[];
      const seriesIds = metrics.filter((m) => m.MetricStat).map((m) => m.Id);
      for (const expression of metrics.flatMap((m) => (m.Expression ? [m.Expression] : []))) {
        // Every raw series an expression reads is read through FILL(id, 0) and never bare.
        for (const id of seriesIds) {
          const bare = expression.replaceAll(`FILL(${id}, 0)`, '');
          expect(bare, `${id} in ${expression}`).not.toMatch(new RegExp(`\\b${id}\\b`));
          expect(expression).toContain(`FILL(${id}, 0)`);
        }
        // A series array holds series, never a number: MAX([requests, 1]) was the old bug.
        for (const array of expression.match(/\[[^\]]*\]/g) ?? []) expect(array).not.toMatch(/\b\d+(\.\d+)?\b/);
      }
    }
    const rate = expressions.find((e) => e.includes('requests'));
    expect(rate).toBe('IF(FILL(requests, 0) > 0, 100 * FILL(errors, 0) / FILL(requests, 0), 0)');
  });

  it('cdk-nag AwsSolutions: zero unacknowledged findings, with invokers and every option on, and every acknowledgement is still needed', () => {
    const plain = new AwsSolutionsChecks().validateScope(stack);
    expect(plain.violations.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
    const full = synth({
      invokerRoleArns: ['arn:aws:iam::123456789012:role/front-end', 'arn:aws:iam::123456789012:role/path/other-front-end'],
      tableKmsKey: 'create',
      reservedConcurrency: 10,
      tableMaxReadRequestUnits: 1000,
      tableMaxWriteRequestUnits: 500,
      alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:pager',
      logRetentionDays: 90,
    }).stack;
    const report = new AwsSolutionsChecks().validateScope(full);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
    expect(report.success).toBe(true);
    // Stack-wide acknowledgements: each must carry a reason (the list is empty by design today).
    for (const ack of NAG_ACKNOWLEDGEMENTS) expect(ack.reason.length).toBeGreaterThan(40);
    // The per-grantee invoke acknowledgements are proven needed in test/stack-invokers.test.ts.
  });

  it('cdk-nag really checks this stack: an older runtime or no access logging is flagged', () => {
    const weakened = serviceInStack();
    const stage = weakened.service.stage.node.defaultChild as CfnStage;
    stage.accessLogSettings = undefined;
    const rules = new AwsSolutionsChecks().validateScope(weakened.stack).violations.map((v) => v.ruleName);
    expect(rules).toContain('AwsSolutions-APIG1');
  });
});
