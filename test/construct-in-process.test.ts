import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { McpSessionService, type McpSessionServiceProps } from '../infra/mcp-session-service.js';
import { IN_PROCESS_STREAMS_TABLE_ACTIONS, IN_PROCESS_TABLE_ACTIONS } from '../infra/table-access.js';
import { ManualClock } from '../scripts/local/manual-clock.js';
import { IN_PROCESS_ENV_PREFIX } from '../lib/config.js';
import { sessionStoreFromEnvironment, sessionStreamsFromEnvironment } from '../lib/in-process.js';
import { createStreamsTestTable, createTestTable, endpoint, readItem, storeOn, streamsOn } from './support/dynamo.js';
import { appWithoutBundling } from './support/synth-stack.js';

/** The variables grantInProcess puts on a user's function, as synthesised. */
function grantedEnvironment(props: McpSessionServiceProps): Record<string, unknown> {
  const stack = new Stack(appWithoutBundling(), 'Test');
  const service = new McpSessionService(stack, 'Sessions', { handlerCode: 'bundle-from-source', ...props });
  const fn = new LambdaFunction(stack, 'McpServer', {
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => ({ statusCode: 200 });'),
    role: new Role(stack, 'McpServerRole', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') }),
  });
  service.grantInProcess(fn);
  const resource = Template.fromStack(stack).findResources('AWS::Lambda::Function')[stack.getLogicalId(fn.node.defaultChild as never)];
  return resource?.Properties.Environment.Variables as Record<string, unknown>;
}

/**
 * What the function sees once deployed: the table reference resolved to a real table (here one in
 * DynamoDB Local, whose endpoint is the one variable added, as a local run of the function would).
 */
function deployedEnvironment(variables: Record<string, unknown>, tableName: string, streamsTableName = 'no-streams-table-here'): Record<string, string> {
  const resolved: Record<string, string> = { [`${IN_PROCESS_ENV_PREFIX}DYNAMODB_ENDPOINT`]: endpoint() };
  const tables: Record<string, string> = { [`${IN_PROCESS_ENV_PREFIX}TABLE_NAME`]: tableName, [`${IN_PROCESS_ENV_PREFIX}STREAMS_TABLE_NAME`]: streamsTableName };
  for (const [name, value] of Object.entries(variables)) resolved[name] = tables[name] ?? String(value);
  return resolved;
}

describe('grantInProcess and sessionStoreFromEnvironment, against DynamoDB Local', () => {
  it('sessionStoreFromEnvironment on the variables grantInProcess sets uses the service\'s table and its session lifetimes', async () => {
    const table = await createTestTable('in-process');
    const clock = new ManualClock();

    const ttlOnly = sessionStoreFromEnvironment(deployedEnvironment(grantedEnvironment({ sessionTtlSeconds: 120 }), table.tableName), { clock: clock.now });
    const first = await ttlOnly.start();
    expect(first.expiresAt).toBe(clock.seconds + 120);
    expect(await readItem(table, first.sessionId)).toMatchObject({ sessionId: first.sessionId, expiresAt: first.expiresAt });
    expect(await ttlOnly.check(first.sessionId)).toMatchObject({ active: true });

    // The absolute lifetime is passed too: it caps the first expiry below the idle TTL.
    const capped = sessionStoreFromEnvironment(deployedEnvironment(grantedEnvironment({ sessionTtlSeconds: 120, sessionMaxLifetimeSeconds: 90 }), table.tableName), { clock: clock.now });
    expect((await capped.start()).expiresAt).toBe(clock.seconds + 90);
    // Both stores share the one table: a session started by one is ended by the other.
    expect(await capped.destroy(first.sessionId)).toBe(true);
    expect(await ttlOnly.check(first.sessionId)).toEqual({ active: false });
  });

  it('the table actions grantInProcess grants are exactly the operations the store sends: start with its prune, check with a slide, destroy', async () => {
    const table = await createTestTable('in-process-actions');
    const { store, clock, requests } = storeOn(table, { ttlSeconds: 100 });
    const expiring = await store.start();
    const kept = await store.start();
    clock.advance(60);
    expect(await store.check(kept.sessionId)).toMatchObject({ active: true, expiresAt: clock.seconds + 100 }); // slid
    expect(await store.destroy(kept.sessionId)).toBe(true);
    clock.advance(200);
    await store.start(); // its prune finds the expired session and deletes it
    expect(store.lastSweep?.deleted).toBe(1);
    expect(await readItem(table, expiring.sessionId)).toBeUndefined();

    const sent = Object.keys(requests.byCommand).map((command) => `dynamodb:${command.replace(/Command$/, '')}`).sort();
    expect(sent).toEqual([...IN_PROCESS_TABLE_ACTIONS]);
  });

  it('sessionStreamsFromEnvironment on the variables grantInProcess sets uses the service\'s streams table and its retention', async () => {
    const [table, streamsTable] = await Promise.all([createTestTable('in-process-s'), createStreamsTestTable('in-process')]);
    const clock = new ManualClock();
    const environment = deployedEnvironment(grantedEnvironment({ streamRetentionSeconds: 600 }), table.tableName, streamsTable.tableName);
    const streams = sessionStreamsFromEnvironment(environment, { clock: clock.now });
    expect(streams.retentionSeconds).toBe(600);
    const sessionId = crypto.randomUUID();
    expect(await streams.append(sessionId, 's', { hello: 1 })).toBe(1);
    // The same table the service's own functions use: another process's streams read it.
    expect(await streamsOn(streamsTable).streams.readAfter(sessionId, 's', 0)).toEqual([{ seq: 1, message: { hello: 1 } }]);
  });

  it('the streams table actions grantInProcess grants are exactly the operations the streams send: append (with a lost race), read, lastSeq, remove', async () => {
    const streamsTable = await createStreamsTestTable('in-process-actions');
    const { streams, requests } = streamsOn(streamsTable);
    const other = streamsOn(streamsTable).streams;
    const sessionId = crypto.randomUUID();
    await streams.append(sessionId, 's', 1);
    await other.append(sessionId, 's', 2); // the first process's next append loses a race and reads the newest
    expect(await streams.append(sessionId, 's', 3)).toBe(3);
    await streams.readAfter(sessionId, 's', 0);
    await streams.lastSeq(sessionId, 's');
    await streams.removeStream(sessionId, 's');
    const sent = Object.keys(requests.byCommand).map((command) => `dynamodb:${command.replace(/Command$/, '')}`).sort();
    expect(sent).toEqual([...IN_PROCESS_STREAMS_TABLE_ACTIONS]);
  });
});
