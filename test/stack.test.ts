import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { NAG_ACKNOWLEDGEMENTS } from '../infra/nag-acknowledgements.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { McpSessionService } from '../infra/mcp-session-service.js';
import { DEADLINE_BUDGET } from '../lib/deadline-budget.js';
import { routeKey, routes } from '../lib/routes.js';
import { actionsOf, serviceInStack, synthService as synth, type Statement } from './support/synth-stack.js';

describe('McpSessionService in a user\'s stack', () => {
  let template: Template;
  let stack: Stack;
  let service: McpSessionService;
  beforeAll(() => ({ stack, service, template } = synth()));

  it('has a TableV2: sessionId key, on-demand, TTL on expiresAt, PITR, retained with deletion protection', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
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

  it('a dev stack may destroy its table, and then drops deletion protection', () => {
    const dev = synth({ tableRemoval: 'destroy' }).template;
    dev.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Delete',
      Properties: { Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })] },
    });
  });

  it('has three Node.js 24 arm64 functions configured with the table name, 512 MB, and the Lambda timeout from DEADLINE_BUDGET.lambdaTimeoutSeconds', () => {
    template.resourceCountIs('AWS::Lambda::Function', 3);
    const functions = template.findResources('AWS::Lambda::Function');
    for (const fn of Object.values(functions)) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler', MemorySize: 512, Timeout: DEADLINE_BUDGET.lambdaTimeoutSeconds });
      expect(fn.Properties.Environment.Variables.TABLE_NAME).toEqual({ Ref: stack.getLogicalId(service.table.node.defaultChild as never) });
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

  it('grants each function only the table actions it uses (start: PutItem, Scan, DeleteItem for the conditional prune; no BatchWriteItem)', () => {
    const expected = {
      start: ['dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:Scan'],
      check: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      destroy: ['dynamodb:DeleteItem'],
    };
    const policies = template.findResources('AWS::IAM::Policy');
    const logActions = ['logs:CreateLogStream', 'logs:PutLogEvents'];
    for (const [name, actions] of Object.entries(expected)) {
      const role = stack.getLogicalId(service.functions[name as keyof typeof expected].role?.node.defaultChild as never);
      const attached = Object.values(policies).filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role));
      expect(actionsOf(attached.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]))).toEqual([...actions, ...logActions].sort());
    }
    expect(JSON.stringify(policies)).not.toContain('BatchWriteItem');
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
    // One statement per route, each scoped to that route's method and path on this API's stages.
    expect(statements).toHaveLength(Object.keys(routes).length);
    const resources = statements.map((s) => JSON.stringify(s.Resource));
    for (const path of ['/POST/sessions"', '/GET/sessions/*"', '/DELETE/sessions/*"']) {
      expect(resources.filter((r) => r.includes(path))).toHaveLength(1);
    }
    expect(actionsOf(statements)).toEqual(Array(3).fill('execute-api:Invoke'));
  });

  it('sets a retention on every log group: 30 days by default, or logRetentionDays', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(4); // three functions and the API access log
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(30);
    const week = Object.values(synth({ logRetentionDays: 7 }).template.findResources('AWS::Logs::LogGroup'));
    expect(week.map((group) => group.Properties.RetentionInDays)).toEqual([7, 7, 7, 7]);
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

  it('has a dashboard and the five alarms, notifying a topic when one is given', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    for (const metric of ['SessionsStarted', 'ChecksActive', 'ChecksInactive', 'Slides', 'Destroys', 'ItemsPruned', 'StoreErrors', '5xx', '4xx', 'Latency', 'Throttles', 'ThrottledRequests']) {
      expect(body).toContain(metric);
    }
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(5);
    const described = alarms.map((a) => String(a.Properties.AlarmDescription));
    for (const topic of ['5xx', '503', 'throttled', 'DynamoDB throttled', 'p99']) expect(described.some((d) => d.includes(topic))).toBe(true);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toBeUndefined();
    const notified = synth({ alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:pager' }).template;
    for (const alarm of Object.values(notified.findResources('AWS::CloudWatch::Alarm'))) expect(alarm.Properties.AlarmActions).toEqual(['arn:aws:sns:us-east-1:123456789012:pager']);
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
