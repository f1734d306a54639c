import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { NAG_ACKNOWLEDGEMENTS } from '../infra/nag-acknowledgements.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { SessionServiceStack, type SessionServiceStackProps } from '../infra/session-service-stack.js';
import { routeKey, routes } from '../lib/routes.js';

/** Synthesises without bundling: the assertions are about the template, not the code assets. */
function synth(props: SessionServiceStackProps = {}): { stack: SessionServiceStack; template: Template } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SessionServiceStack(app, 'Test', props);
  return { stack, template: Template.fromStack(stack) };
}

type Statement = { Action: string | string[]; Resource: unknown };
const actionsOf = (statements: Statement[]): string[] => statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();

describe('the stack', () => {
  let template: Template;
  let stack: SessionServiceStack;
  beforeAll(() => ({ stack, template } = synth()));

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

  it('has three Node.js 24 arm64 functions configured with the table name, 512 MB, a 15 s timeout', () => {
    template.resourceCountIs('AWS::Lambda::Function', 3);
    const functions = template.findResources('AWS::Lambda::Function');
    for (const fn of Object.values(functions)) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler', MemorySize: 512, Timeout: 15 });
      expect(fn.Properties.Environment.Variables.TABLE_NAME).toEqual({ Ref: stack.getLogicalId(stack.table.node.defaultChild as never) });
    }
  });

  it('grants each function only the table actions it uses', () => {
    const expected = {
      start: ['dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:Scan'],
      check: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      destroy: ['dynamodb:DeleteItem'],
    };
    const policies = template.findResources('AWS::IAM::Policy');
    const logActions = ['logs:CreateLogStream', 'logs:PutLogEvents'];
    for (const [name, actions] of Object.entries(expected)) {
      const role = stack.getLogicalId(stack.functions[name as keyof typeof expected].role?.node.defaultChild as never);
      const attached = Object.values(policies).filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role));
      expect(actionsOf(attached.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]))).toEqual([...actions, ...logActions].sort());
    }
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
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const withInvoker = new SessionServiceStack(app, 'Invoker');
    const frontEnd = new Role(withInvoker, 'FrontEnd', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    withInvoker.grantInvoke(frontEnd);
    const statements = Object.values(Template.fromStack(withInvoker).findResources('AWS::IAM::Policy'))
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

  it('the invokerRoleArns prop grants imported roles the same way', () => {
    const { template: granted } = synth({ invokerRoleArns: ['arn:aws:iam::123456789012:role/front-end'] });
    granted.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'execute-api:Invoke' })]) },
      Roles: ['front-end'],
    });
  });

  it('outputs the API URL, the table name and the dashboard', () => {
    template.hasOutput('DashboardName', { Value: { Ref: Match.anyValue() } });
    template.hasOutput('ApiUrl', { Value: { 'Fn::GetAtt': [Match.anyValue(), 'ApiEndpoint'] } });
    template.hasOutput('TableName', { Value: { Ref: Match.anyValue() } });
  });

  it('sets a retention on every log group', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(4); // three functions and the API access log
    for (const group of groups) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it('logs API access as JSON with the route key, never the raw path (which holds session ids)', () => {
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0];
    expect(stage?.Properties).toMatchObject({ StageName: '$default', AutoDeploy: true });
    const format = JSON.parse(String(stage?.Properties.AccessLogSettings.Format)) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey', status: '$context.status' });
    const used = Object.values(format).join(' ');
    for (const pathVariable of ['$context.path', '$context.resourcePath', '$input', '$context.requestOverride']) expect(used).not.toContain(pathVariable);
  });

  it('throttles the stage, 500/s burst 1000 by default or as configured', () => {
    expect(Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0]?.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 });
    const custom = synth({ throttleRateLimit: 50, throttleBurstLimit: 100 }).template;
    expect(Object.values(custom.findResources('AWS::ApiGatewayV2::Stage'))[0]?.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
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

  it('cdk-nag AwsSolutions: zero unacknowledged findings, and every acknowledgement is still needed', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
    expect(report.success).toBe(true);
    for (const ack of NAG_ACKNOWLEDGEMENTS) expect(ack.reason.length).toBeGreaterThan(40);
  });

  it('cdk-nag really checks this stack: an older runtime or no access logging is flagged', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const weakened = new SessionServiceStack(app, 'Weakened');
    const stage = weakened.stage.node.defaultChild as CfnStage;
    stage.accessLogSettings = undefined;
    const rules = new AwsSolutionsChecks().validateScope(weakened).violations.map((v) => v.ruleName);
    expect(rules).toContain('AwsSolutions-APIG1');
  });
});
