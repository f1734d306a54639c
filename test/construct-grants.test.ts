import { Validations, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import type { McpSessionService, McpSessionServiceProps } from '../infra/mcp-session-service.js';
import { IN_PROCESS_TABLE_ACTIONS, TABLE_ACTIONS } from '../infra/table-access.js';
import { TABLE_KEY_ACTIONS } from '../infra/table-encryption.js';
import { IN_PROCESS_ENV_PREFIX, loadConfig } from '../lib/config.js';
import { routes } from '../lib/routes.js';
import { actionsOf, serviceInStack, type Statement } from './support/synth-stack.js';

/**
 * A user's own MCP server function, as a user would write it: its own role (no managed policy), the
 * latest Node runtime, an environment variable of its own. Inline code: the function is the user's,
 * not ours, and only its template is asserted.
 */
function usersFunction(stack: Stack): LambdaFunction {
  const role = new Role(stack, 'McpServerRole', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  return new LambdaFunction(stack, 'McpServer', {
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => ({ statusCode: 200 });'),
    role,
    environment: { OWN_SETTING: 'kept' },
  });
}

interface Synthesised {
  stack: Stack;
  service: McpSessionService;
  template: Template;
}

/** The statements attached to `role` (by its logical id), across every policy in the template. */
function statementsOf(synthesised: Synthesised, role: IConstruct): Statement[] {
  const roleId = synthesised.stack.getLogicalId(role.node.defaultChild as never);
  return Object.values(synthesised.template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const tableArn = (synthesised: Synthesised): unknown => ({ 'Fn::GetAtt': [synthesised.stack.getLogicalId(synthesised.service.table.node.defaultChild as never), 'Arn'] });

const acknowledgementsUnder = (scope: IConstruct): unknown[] =>
  scope.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY));

function withInProcessGrantee(props: McpSessionServiceProps = {}): Synthesised & { fn: LambdaFunction } {
  const { stack, service } = serviceInStack(props);
  const fn = usersFunction(stack);
  const grant = service.grantInProcess(fn);
  expect(grant.success).toBe(true);
  return { stack, service, fn, template: Template.fromStack(stack) };
}

describe('grantInvoke(grantee)', () => {
  it('grantInvoke gives a user\'s role execute-api:Invoke on the three routes and nothing else', () => {
    const { stack, service } = serviceInStack();
    const frontEnd = new Role(stack, 'FrontEnd', { assumedBy: new ServicePrincipal('ecs-tasks.amazonaws.com') });
    expect(service.grantInvoke(frontEnd).success).toBe(true);
    const synthesised = { stack, service, template: Template.fromStack(stack) };
    const statements = statementsOf(synthesised, frontEnd);
    expect(actionsOf(statements)).toEqual(Array(Object.keys(routes).length).fill('execute-api:Invoke'));
    const resources = statements.map((s) => JSON.stringify(s.Resource));
    for (const path of ['/POST/sessions"', '/GET/sessions/*"', '/DELETE/sessions/*"']) expect(resources.filter((r) => r.includes(path))).toHaveLength(1);
    for (const statement of statements) expect(statement.Condition).toBeUndefined();
  });
});

describe('grantInProcess(fn): environment and grant, paired', () => {
  it('grantInProcess sets MCP_SESSIONS_TABLE_NAME on the user\'s function and keeps its own variables; no setting variables when the service sets none', () => {
    const synthesised = withInProcessGrantee();
    const [variables] = Object.values(synthesised.template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler', Environment: { Variables: { OWN_SETTING: 'kept' } } } })).map(
      (fn) => fn.Properties.Environment.Variables as Record<string, unknown>,
    );
    expect(variables).toEqual({ OWN_SETTING: 'kept', [`${IN_PROCESS_ENV_PREFIX}TABLE_NAME`]: { Ref: synthesised.stack.getLogicalId(synthesised.service.table.node.defaultChild as never) } });
  });

  it('grantInProcess passes the service\'s TTL, lifetime and prune settings, named so that loadConfig(env, { prefix: IN_PROCESS_ENV_PREFIX }) reads them back', () => {
    const props = { sessionTtlSeconds: 900, sessionMaxLifetimeSeconds: 7200, pruneScanLimit: 0 };
    const { fn, stack, service } = withInProcessGrantee(props);
    const variables = Template.fromStack(stack).findResources('AWS::Lambda::Function')[stack.getLogicalId(fn.node.defaultChild as never)]?.Properties.Environment.Variables as Record<string, unknown>;
    expect(Object.keys(variables).sort()).toEqual(['MCP_SESSIONS_PRUNE_SCAN_LIMIT', 'MCP_SESSIONS_SESSION_MAX_LIFETIME_SECONDS', 'MCP_SESSIONS_SESSION_TTL_SECONDS', 'MCP_SESSIONS_TABLE_NAME', 'OWN_SETTING']);
    // The table name is a reference until deploy; stand in a name for it and read the rest as the function will.
    const deployed = { ...variables, MCP_SESSIONS_TABLE_NAME: 'sessions-table' } as Record<string, string>;
    expect(loadConfig(deployed, { prefix: IN_PROCESS_ENV_PREFIX })).toEqual({ tableName: 'sessions-table', ttlSeconds: 900, maxLifetimeSeconds: 7200, pruneScanLimit: 0, dynamodbEndpoint: undefined });
    // The service's own functions run with the same settings, so both paths keep the same lifetimes.
    for (const own of Object.values(service.functions)) {
      const ownVariables = Template.fromStack(stack).findResources('AWS::Lambda::Function')[stack.getLogicalId(own.node.defaultChild as never)]?.Properties.Environment.Variables as Record<string, string>;
      expect(ownVariables).toMatchObject({ SESSION_TTL_SECONDS: '900', SESSION_MAX_LIFETIME_SECONDS: '7200', PRUNE_SCAN_LIMIT: '0' });
    }
  });

  it('grantInProcess grants exactly GetItem, PutItem, UpdateItem, DeleteItem and Scan on the sessions table, and nothing else', () => {
    const synthesised = withInProcessGrantee();
    expect([...IN_PROCESS_TABLE_ACTIONS]).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:UpdateItem']);
    // The union of what the three handlers may do: the in-process store does what they do, no more.
    expect([...IN_PROCESS_TABLE_ACTIONS]).toEqual([...new Set(Object.values(TABLE_ACTIONS).flat())].sort());
    const statements = statementsOf(synthesised, synthesised.fn.role as IConstruct);
    expect(statements).toHaveLength(1);
    const [statement] = statements;
    expect(statement?.Effect).toBe('Allow');
    expect(actionsOf(statements)).toEqual([...IN_PROCESS_TABLE_ACTIONS]);
    expect(statement?.Condition).toBeUndefined();
    // The table itself, no index or other wildcard.
    expect(statement?.Resource).toEqual(tableArn(synthesised));
    // No resource policy on the table, no change to the service's own roles.
    const table = Object.values(synthesised.template.findResources('AWS::DynamoDB::GlobalTable'))[0];
    expect(JSON.stringify(table)).not.toContain('ResourcePolicy');
    const policies = Object.values(synthesised.template.findResources('AWS::IAM::Policy'));
    expect(policies).toHaveLength(Object.keys(routes).length + 1);
  });

  it('grantInProcess with a customer-managed table key also grants that key, through DynamoDB only', () => {
    const synthesised = withInProcessGrantee({ tableKmsKey: 'create' });
    const statements = statementsOf(synthesised, synthesised.fn.role as IConstruct);
    expect(statements).toHaveLength(2);
    const keyStatement = statements.find((s) => actionsOf([s]).includes('kms:Decrypt'));
    expect(actionsOf(keyStatement ? [keyStatement] : [])).toEqual([...TABLE_KEY_ACTIONS].sort());
    const keyId = Object.keys(synthesised.template.findResources('AWS::KMS::Key'))[0];
    expect(keyStatement?.Resource).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(JSON.stringify(keyStatement?.Condition)).toContain('kms:ViaService');
    expect(synthesised.service.tableKey).toBeDefined();
  });
});

describe('cdk-nag with a user\'s grantees', () => {
  it('cdk-nag: zero unacknowledged findings with invokers from props, a grantInvoke role and an in-process grantee, and the in-process grant needs no acknowledgement', () => {
    const { stack, service } = serviceInStack({ invokerRoleArns: ['arn:aws:iam::123456789012:role/front-end'], tableKmsKey: 'create' });
    const frontEnd = new Role(stack, 'FrontEnd', { assumedBy: new ServicePrincipal('ecs-tasks.amazonaws.com') });
    service.grantInvoke(frontEnd);
    const fn = usersFunction(stack);
    service.grantInProcess(fn);
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    // Passing without any acknowledgement: the grant has no wildcard to excuse.
    expect(acknowledgementsUnder(fn)).toEqual([]);
    // Invoke grants are acknowledged on each grantee only, never stack-wide.
    expect(acknowledgementsUnder(frontEnd)).not.toEqual([]);
    expect(stack.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)).toEqual([]);
  });
});
