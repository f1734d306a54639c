import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
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

  it('has three Node.js 22 arm64 functions configured with the table name', () => {
    template.resourceCountIs('AWS::Lambda::Function', 3);
    const functions = template.findResources('AWS::Lambda::Function');
    for (const fn of Object.values(functions)) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
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
    for (const [name, actions] of Object.entries(expected)) {
      const role = stack.getLogicalId(stack.functions[name as keyof typeof expected].role?.node.defaultChild as never);
      const attached = Object.values(policies).filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role));
      expect(actionsOf(attached.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]))).toEqual(actions);
    }
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

  it('outputs the API URL and the table name', () => {
    template.hasOutput('ApiUrl', { Value: { 'Fn::GetAtt': [Match.anyValue(), 'ApiEndpoint'] } });
    template.hasOutput('TableName', { Value: { Ref: Match.anyValue() } });
  });

  it('sets a retention on every log group', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(3);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
  });
});
