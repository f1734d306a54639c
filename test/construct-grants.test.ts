import { Validations, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import type { McpSessionService, McpSessionServiceProps } from '../infra/mcp-session-service.js';
import { IN_PROCESS_STREAMS_TABLE_ACTIONS, IN_PROCESS_TABLE_ACTIONS, STREAMS_TABLE_ACTIONS, TABLE_ACTIONS } from '../infra/table-access.js';
import { TABLE_KEY_ACTIONS } from '../infra/table-encryption.js';
import { IN_PROCESS_ENV_PREFIX, loadConfig, loadStreamsConfig } from '../lib/config.js';
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
const streamsTableArn = (synthesised: Synthesised): unknown => ({ 'Fn::GetAtt': [synthesised.stack.getLogicalId(synthesised.service.streamsTable.node.defaultChild as never), 'Arn'] });
const tableRef = (synthesised: Synthesised, table: 'table' | 'streamsTable'): unknown => ({ Ref: synthesised.stack.getLogicalId(synthesised.service[table].node.defaultChild as never) });

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
  it('grantInvoke gives a user\'s role execute-api:Invoke on the routes and nothing else', () => {
    const { stack, service } = serviceInStack();
    const frontEnd = new Role(stack, 'FrontEnd', { assumedBy: new ServicePrincipal('ecs-tasks.amazonaws.com') });
    expect(service.grantInvoke(frontEnd).success).toBe(true);
    const synthesised = { stack, service, template: Template.fromStack(stack) };
    const statements = statementsOf(synthesised, frontEnd);
    // One per distinct route ARN (CDK's ARN of a route keeps its path up to the first parameter).
    const paths = ['/POST/sessions"', '/GET/sessions/*"', '/DELETE/sessions/*"', '/PATCH/sessions/*"', '/POST/sessions/*"'];
    expect(actionsOf(statements)).toEqual(Array(paths.length).fill('execute-api:Invoke'));
    const resources = statements.map((s) => JSON.stringify(s.Resource));
    for (const path of paths) expect(resources.filter((r) => r.includes(path))).toHaveLength(1);
    for (const statement of statements) expect(statement.Condition).toBeUndefined();
  });
});

describe('grantInProcess(fn): environment and grant, paired', () => {
  it('grantInProcess sets MCP_SESSIONS_TABLE_NAME and MCP_SESSIONS_STREAMS_TABLE_NAME on the user\'s function and keeps its own variables; no setting variables when the service sets none', () => {
    const synthesised = withInProcessGrantee();
    const [variables] = Object.values(synthesised.template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler', Environment: { Variables: { OWN_SETTING: 'kept' } } } })).map(
      (fn) => fn.Properties.Environment.Variables as Record<string, unknown>,
    );
    expect(variables).toEqual({
      OWN_SETTING: 'kept',
      [`${IN_PROCESS_ENV_PREFIX}TABLE_NAME`]: tableRef(synthesised, 'table'),
      [`${IN_PROCESS_ENV_PREFIX}STREAMS_TABLE_NAME`]: tableRef(synthesised, 'streamsTable'),
    });
  });

  it('grantInProcess passes the service\'s TTL, lifetime, prune and stream retention settings, named so that the in-process loaders read them back', () => {
    const props = { sessionTtlSeconds: 900, sessionMaxLifetimeSeconds: 7200, pruneScanLimit: 0, streamRetentionSeconds: 600 };
    const { fn, stack, service } = withInProcessGrantee(props);
    const variables = Template.fromStack(stack).findResources('AWS::Lambda::Function')[stack.getLogicalId(fn.node.defaultChild as never)]?.Properties.Environment.Variables as Record<string, unknown>;
    expect(Object.keys(variables).sort()).toEqual([
      'MCP_SESSIONS_PRUNE_SCAN_LIMIT',
      'MCP_SESSIONS_SESSION_MAX_LIFETIME_SECONDS',
      'MCP_SESSIONS_SESSION_TTL_SECONDS',
      'MCP_SESSIONS_STREAMS_TABLE_NAME',
      'MCP_SESSIONS_STREAM_RETENTION_SECONDS',
      'MCP_SESSIONS_TABLE_NAME',
      'OWN_SETTING',
    ]);
    // The table names are references until deploy; stand in names for them and read the rest as the function will.
    const deployed = { ...variables, MCP_SESSIONS_TABLE_NAME: 'sessions-table', MCP_SESSIONS_STREAMS_TABLE_NAME: 'streams-table' } as Record<string, string>;
    expect(loadConfig(deployed, { prefix: IN_PROCESS_ENV_PREFIX })).toEqual({ tableName: 'sessions-table', ttlSeconds: 900, maxLifetimeSeconds: 7200, pruneScanLimit: 0, dynamodbEndpoint: undefined });
    expect(loadStreamsConfig(deployed, { prefix: IN_PROCESS_ENV_PREFIX })).toEqual({ streamsTableName: 'streams-table', retentionSeconds: 600, dynamodbEndpoint: undefined });
    // The service's own functions run with the same settings, so both paths keep the same lifetimes.
    for (const own of Object.values(service.functions)) {
      const ownVariables = Template.fromStack(stack).findResources('AWS::Lambda::Function')[stack.getLogicalId(own.node.defaultChild as never)]?.Properties.Environment.Variables as Record<string, string>;
      expect(ownVariables).toMatchObject({ SESSION_TTL_SECONDS: '900', SESSION_MAX_LIFETIME_SECONDS: '7200', PRUNE_SCAN_LIMIT: '0', STREAM_RETENTION_SECONDS: '600' });
    }
  });

  it('grantInProcess grants exactly GetItem, PutItem, UpdateItem, DeleteItem and Scan on the sessions table, PutItem, Query and BatchWriteItem on the streams table, and nothing else', () => {
    const synthesised = withInProcessGrantee();
    expect([...IN_PROCESS_TABLE_ACTIONS]).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:UpdateItem']);
    expect([...IN_PROCESS_STREAMS_TABLE_ACTIONS]).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:Query']);
    // The union of what the handlers may do: the in-process store and streams do what they do, no more.
    expect([...IN_PROCESS_TABLE_ACTIONS]).toEqual([...new Set(Object.values(TABLE_ACTIONS).flat())].sort());
    expect([...IN_PROCESS_STREAMS_TABLE_ACTIONS]).toEqual([...new Set(Object.values(STREAMS_TABLE_ACTIONS).flat())].sort());
    const statements = statementsOf(synthesised, synthesised.fn.role as IConstruct);
    expect(statements).toHaveLength(2);
    for (const statement of statements) {
      expect(statement.Effect).toBe('Allow');
      expect(statement.Condition).toBeUndefined();
    }
    // Each table itself, no index or other wildcard.
    const on = (arn: unknown) => statements.filter((st) => JSON.stringify(st.Resource) === JSON.stringify(arn));
    expect(actionsOf(on(tableArn(synthesised)))).toEqual([...IN_PROCESS_TABLE_ACTIONS]);
    expect(actionsOf(on(streamsTableArn(synthesised)))).toEqual([...IN_PROCESS_STREAMS_TABLE_ACTIONS]);
    // No resource policy on the tables, no change to the service's own roles.
    for (const table of Object.values(synthesised.template.findResources('AWS::DynamoDB::GlobalTable'))) expect(JSON.stringify(table)).not.toContain('ResourcePolicy');
    const policies = Object.values(synthesised.template.findResources('AWS::IAM::Policy'));
    expect(policies).toHaveLength(Object.keys(routes).length + 1);
  });

  it('grantInProcess with a customer-managed table key also grants that key, through DynamoDB only', () => {
    const synthesised = withInProcessGrantee({ tableKmsKey: 'create' });
    const statements = statementsOf(synthesised, synthesised.fn.role as IConstruct);
    expect(statements).toHaveLength(3); // the two tables and their one key
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
