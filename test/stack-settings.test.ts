import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { stackSettingsFromContext } from '../infra/context.js';
import type { McpSessionServiceProps } from '../infra/mcp-session-service.js';
import { SessionServiceStack } from '../infra/session-service-stack.js';
import { TABLE_KEY_ACTIONS } from '../infra/table-encryption.js';
import { routeNames } from '../lib/routes.js';
import { appWithContext, rulesNamed, statementsAllowing, synthService } from './support/synth-stack.js';

/** Reads `-c` context and builds the stack from it, as infra/app.ts does. */
function synthFromContext(context: Record<string, unknown>): SessionServiceStack {
  const app = appWithContext(context);
  const { stackName, props } = stackSettingsFromContext(app.node);
  return new SessionServiceStack(app, stackName, props);
}

const functionVariables = (stack: SessionServiceStack): Record<string, unknown>[] =>
  Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).map((fn) => fn.Properties.Environment.Variables as Record<string, unknown>);

describe('context values are validated at synth with the functions\' own rules (lib/config.ts), naming the setting', () => {
  it('-c sessionTtlSeconds=0 fails synth naming sessionTtlSeconds (the functions would all fail at init)', () => {
    expect(() => synthFromContext({ sessionTtlSeconds: '0' })).toThrow(/^sessionTtlSeconds must be an integer >= 1, got "0"$/);
  });

  it('every function setting, from -c or as a prop, is refused exactly where the functions would refuse it', () => {
    const refused: [string, string, RegExp][] = [
      ['sessionTtlSeconds', 'abc', /sessionTtlSeconds must be an integer >= 1, got "abc"/],
      ['sessionTtlSeconds', '1.5', /sessionTtlSeconds must be an integer/],
      ['sessionMaxLifetimeSeconds', '0', /sessionMaxLifetimeSeconds must be an integer >= 1/],
      ['sessionMaxLifetimeSeconds', '1e3', /sessionMaxLifetimeSeconds must be an integer/],
      ['pruneScanLimit', '-1', /pruneScanLimit must be an integer >= 0, got "-1"/],
      ['streamRetentionSeconds', '0', /streamRetentionSeconds must be an integer >= 1, got "0"/],
    ];
    for (const [name, value, message] of refused) expect(() => synthFromContext({ [name]: value }), `${name}=${value}`).toThrow(message);
    const refusedProps: McpSessionServiceProps[] = [{ sessionTtlSeconds: 0 }, { sessionTtlSeconds: 1.5 }, { sessionTtlSeconds: Number.NaN }, { sessionMaxLifetimeSeconds: 0 }, { pruneScanLimit: -1 }, { streamRetentionSeconds: 0 }];
    for (const props of refusedProps) {
      const [name] = Object.keys(props);
      expect(() => synthService(props), JSON.stringify(props)).toThrow(new RegExp(`^${String(name)} must be an integer`));
    }
    // None of them leaks the variable name the operator never typed.
    expect(() => synthFromContext({ pruneScanLimit: 'x' })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('PRUNE_SCAN_LIMIT') }));
  });

  it('valid function settings (trimmed, numbers from cdk.json too) reach every function\'s environment; unset ones stay unset', () => {
    const stack = synthFromContext({ sessionTtlSeconds: ' 1800 ', pruneScanLimit: 0, sessionMaxLifetimeSeconds: '', streamRetentionSeconds: 7200 });
    for (const variables of functionVariables(stack)) {
      expect(variables).toMatchObject({ SESSION_TTL_SECONDS: '1800', PRUNE_SCAN_LIMIT: '0', STREAM_RETENTION_SECONDS: '7200' });
      expect(variables.SESSION_MAX_LIFETIME_SECONDS).toBeUndefined();
    }
  });

  it('every other context value is validated at synth, naming the setting', () => {
    const refused: [Record<string, unknown>, RegExp][] = [
      [{ tableRemoval: 'delete' }, /tableRemoval must be "retain" or "destroy", got "delete"/],
      [{ throttleRateLimit: '0' }, /throttleRateLimit must be an integer >= 1, got 0/],
      [{ throttleBurstLimit: '10x' }, /throttleBurstLimit must be a whole number, got "10x"/],
      [{ startThrottleRateLimit: '600' }, /startThrottleRateLimit \(600\) must not exceed throttleRateLimit \(500\)/],
      [{ startThrottleBurstLimit: '0' }, /startThrottleBurstLimit must be an integer >= 1/],
      [{ alarmTopicArn: 'pager' }, /alarmTopicArn must be an SNS topic ARN .*got "pager"/],
      [{ alarmTopicArn: 'arn:aws:sqs:us-east-1:123456789012:pager' }, /alarmTopicArn must be an SNS topic ARN/],
      [{ reservedConcurrency: '0' }, /reservedConcurrency must be an integer >= 1, got 0/],
      [{ tableMaxReadRequestUnits: '0' }, /tableMaxReadRequestUnits must be an integer >= 1/],
      [{ tableMaxWriteRequestUnits: '-5' }, /tableMaxWriteRequestUnits must be a whole number, got "-5"/],
      [{ tableKmsKey: 'alias/sessions' }, /tableKmsKey must be "create" or a KMS key ARN .*got "alias\/sessions"/],
      [{ logRetentionDays: '8' }, /logRetentionDays must be one of 1, 3, 5, 7, 14, 30, .* got 8/],
      [{ logRetentionDays: '9999' }, /logRetentionDays must be one of/],
      [{ invokerRoleArns: 42 }, /invokerRoleArns must be a comma-separated string or a list of strings/],
      [{ sessionTtlSeconds: { seconds: 5 } }, /context sessionTtlSeconds must be a string or a number/],
    ];
    for (const [context, message] of refused) expect(() => synthFromContext(context), JSON.stringify(context)).toThrow(message);
  });

  it('all context values together parse into the props the stack takes', () => {
    const app = appWithContext({
      stackName: 'Sessions2',
      tableRemoval: 'destroy',
      throttleRateLimit: '100',
      throttleBurstLimit: '200',
      startThrottleRateLimit: '10',
      startThrottleBurstLimit: '20',
      reservedConcurrency: '25',
      tableMaxReadRequestUnits: '1000',
      tableMaxWriteRequestUnits: '400',
      tableKmsKey: 'create',
      logRetentionDays: '90',
      alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:pager',
    });
    expect(stackSettingsFromContext(app.node)).toEqual({
      stackName: 'Sessions2',
      props: expect.objectContaining({
        tableRemoval: 'destroy',
        throttleRateLimit: 100,
        throttleBurstLimit: 200,
        startThrottleRateLimit: 10,
        startThrottleBurstLimit: 20,
        reservedConcurrency: 25,
        tableMaxReadRequestUnits: 1000,
        tableMaxWriteRequestUnits: 400,
        tableKmsKey: 'create',
        logRetentionDays: 90,
        alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:pager',
      }),
    });
  });
});

describe('new options, whose defaults change nothing', () => {
  it('defaults: no reserved concurrency, no throughput cap, no customer-managed key (AWS owned), logs kept 30 days', () => {
    const { template } = synthService();
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    const table = Object.values(template.findResources('AWS::DynamoDB::GlobalTable'))[0];
    expect(table?.Properties.SSESpecification).toBeUndefined();
    expect(table?.Properties.WriteOnDemandThroughputSettings).toBeUndefined();
    expect(table?.Properties.Replicas[0].SSESpecification).toBeUndefined();
    expect(table?.Properties.Replicas[0].ReadOnDemandThroughputSettings).toBeUndefined();
    template.resourceCountIs('AWS::KMS::Key', 0);
    expect(statementsAllowing(template, 'kms:Decrypt')).toEqual([]);
  });

  it('reservedConcurrency reserves that concurrency for each function', () => {
    const { template } = synthService({ reservedConcurrency: 20 });
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions.map((fn) => fn.Properties.ReservedConcurrentExecutions)).toEqual(Array(routeNames.length).fill(20));
  });

  it('tableMaxReadRequestUnits / tableMaxWriteRequestUnits cap both on-demand tables\' throughput', () => {
    const { template } = synthService({ tableMaxReadRequestUnits: 1000, tableMaxWriteRequestUnits: 400 });
    const tables = Object.values(template.findResources('AWS::DynamoDB::GlobalTable'));
    expect(tables).toHaveLength(2);
    for (const table of tables) {
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        WriteOnDemandThroughputSettings: { MaxWriteRequestUnits: 400 },
        Replicas: [expect.objectContaining({ ReadOnDemandThroughputSettings: { MaxReadRequestUnits: 1000 } })],
      });
    }
  });

  it('tableKmsKey=create encrypts the table with a new rotating key, retained with the table, usable by the functions only through DynamoDB', () => {
    const { stack, template } = synthService({ tableKmsKey: 'create' });
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', Properties: Match.objectLike({ EnableKeyRotation: true }) });
    const keyId = Object.keys(template.findResources('AWS::KMS::Key'))[0];
    // Both tables, with the one key.
    const tables = Object.values(template.findResources('AWS::DynamoDB::GlobalTable'));
    expect(tables).toHaveLength(2);
    for (const table of tables) {
      expect(table.Properties).toMatchObject({
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
        Replicas: [expect.objectContaining({ SSESpecification: { KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } } })],
      });
    }
    const keyStatements = statementsAllowing(template, 'kms:Decrypt');
    expect(keyStatements).toHaveLength(routeNames.length); // one per function
    for (const statement of keyStatements) {
      expect([statement.Action].flat().sort()).toEqual([...TABLE_KEY_ACTIONS].sort());
      expect(statement.Resource).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
      expect(JSON.stringify(statement.Condition)).toContain('kms:ViaService');
    }
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
    // A dev stack's key goes with its table.
    synthService({ tableKmsKey: 'create', tableRemoval: 'destroy' }).template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete' });
  });

  it('tableKmsKey=<key ARN> uses that key; its region is pinned by a rule (agnostic stack) or checked at synth (concrete region)', () => {
    const keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const { template } = synthService({ tableKmsKey: keyArn });
    template.resourceCountIs('AWS::KMS::Key', 0);
    for (const table of Object.values(template.findResources('AWS::DynamoDB::GlobalTable'))) {
      expect(table.Properties.Replicas[0].SSESpecification).toEqual({ KMSMasterKeyId: keyArn });
    }
    const [rule] = rulesNamed(template, 'TableKeyInThisRegion');
    expect(rule?.Assertions[0]?.Assert).toEqual({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] });
    expect(rule?.Assertions[0]?.AssertDescription).toContain(keyArn);
    expect(() => synthService({ tableKmsKey: keyArn }, { account: '123456789012', region: 'us-east-1' })).toThrow(/tableKmsKey: .* is in eu-west-1, but this stack deploys to us-east-1/);
  });
});
