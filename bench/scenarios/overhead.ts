import { DeleteCommand, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { performance } from 'node:perf_hooks';
import { createCheckHandler } from '../../lib/handlers/check.js';
import { createDestroyHandler } from '../../lib/handlers/destroy.js';
import { createStartHandler } from '../../lib/handlers/start.js';
import { systemClock } from '../../lib/clock.js';
import { DynamoSessionStore } from '../../lib/dynamo-session-store.js';
import { writeItems } from '../../scripts/local/write-items.js';
import { silentLogger } from '../../lib/logger.js';
import { apiEvent } from '../../scripts/local/api-event.js';
import type { RouteName } from '../../lib/routes.js';
import { liveItem, percentile, progress, round, type BenchContext } from '../support.js';

export interface OverheadRow {
  operation: string;
  rawCall: string;
  iterations: number;
  handlerP50Ms: number;
  rawP50Ms: number;
  handlerP99Ms: number;
  rawP99Ms: number;
  ratioP50: number;
  ratioP99: number;
  targetP50: number;
}

const event = (name: RouteName, sessionId?: string): APIGatewayProxyEventV2 => apiEvent(name, { sessionId });

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/**
 * Scenario 3: the in-process handlers against the bare SDK call each is built on, on one client, in
 * one run, interleaved (alternating which goes first) so drift in DynamoDB Local hits both alike.
 */
export async function measureOverhead(context: BenchContext): Promise<OverheadRow[]> {
  const iterations = context.quick ? 300 : 2000;
  const table = await context.newTable('overhead');
  // A realistic table for start's sweep page to read.
  await writeItems(table.client, table.tableName, Array.from({ length: 2000 }, () => liveItem(Math.floor(Date.now() / 1000))), 16);
  const store = new DynamoSessionStore({ client: table.client, tableName: table.tableName, clock: systemClock, logger: silentLogger });
  const handlers = { start: createStartHandler(store, silentLogger), check: createCheckHandler(store, silentLogger), destroy: createDestroyHandler(store, silentLogger) };
  const key = (sessionId: string) => ({ sessionId });

  const sessions = await Promise.all(Array.from({ length: 200 }, () => store.start()));
  const warmUp = 50;
  const victims = Array.from({ length: (iterations + warmUp) * 2 }, () => liveItem(Math.floor(Date.now() / 1000)));
  await writeItems(table.client, table.tableName, victims, 16);

  const putNew = () =>
    table.client.send(new PutCommand({ TableName: table.tableName, Item: liveItem(Math.floor(Date.now() / 1000)), ConditionExpression: 'attribute_not_exists(sessionId)' }));
  // A sweep page as the store reads it, walking the table the same way.
  let scanFrom: Record<string, unknown> | undefined;
  const scanPage = async () => {
    const page = await table.client.send(
      new ScanCommand({
        TableName: table.tableName,
        Limit: 100,
        ExclusiveStartKey: scanFrom,
        ProjectionExpression: 'sessionId',
        FilterExpression: 'expiresAt < :t',
        ExpressionAttributeValues: { ':t': Math.floor(Date.now() / 1000) - 60 },
      }),
    );
    scanFrom = page.LastEvaluatedKey;
  };
  const noPruneStore = new DynamoSessionStore({ client: table.client, tableName: table.tableName, clock: systemClock, logger: silentLogger, pruneScanLimit: 0 });
  const noPruneStart = createStartHandler(noPruneStore, silentLogger);

  const cases: { operation: string; rawCall: string; target: number; handler: (i: number) => Promise<unknown>; raw: (i: number) => Promise<unknown> }[] = [
    {
      operation: 'check',
      rawCall: 'GetItem (ConsistentRead)',
      target: 1.1,
      handler: (i) => handlers.check(event('check', sessions[i % sessions.length]?.sessionId)),
      raw: (i) => table.client.send(new GetCommand({ TableName: table.tableName, Key: key(sessions[i % sessions.length]?.sessionId ?? ''), ConsistentRead: true })),
    },
    {
      operation: 'destroy',
      // The same request the store sends: only a live session, and only an ownerless destroy of an ownerless one.
      rawCall: 'DeleteItem (conditional)',
      target: 1.1,
      handler: (i) => handlers.destroy(event('destroy', victims[2 * i]?.sessionId)),
      raw: (i) =>
        table.client.send(
          new DeleteCommand({
            TableName: table.tableName,
            Key: key(victims[2 * i + 1]?.sessionId ?? ''),
            ConditionExpression: 'attribute_exists(#k) AND #e > :now AND attribute_not_exists(#o)',
            ExpressionAttributeNames: { '#k': 'sessionId', '#e': 'expiresAt', '#o': 'owner' },
            ExpressionAttributeValues: { ':now': Math.floor(Date.now() / 1000) },
          }),
        ),
    },
    {
      operation: 'start',
      rawCall: 'PutItem (conditional)',
      target: 1.25,
      handler: () => handlers.start(event('start')),
      raw: () => putNew(),
    },
    {
      // What start really waits for: the put and one sweep page side by side.
      operation: 'start',
      rawCall: 'PutItem ∥ Scan page (100, keys only)',
      target: 1.25,
      handler: () => handlers.start(event('start')),
      raw: () => Promise.all([putNew(), scanPage()]),
    },
    {
      operation: 'start, PRUNE_SCAN_LIMIT=0',
      rawCall: 'PutItem (conditional)',
      target: 1.25,
      handler: () => noPruneStart(event('start')),
      raw: () => putNew(),
    },
  ];

  const rows: OverheadRow[] = [];
  for (const c of cases) {
    progress(`overhead: ${c.operation} vs ${c.rawCall}, ${iterations} interleaved pairs`);
    for (let i = iterations; i < iterations + warmUp; i++) {
      await c.handler(i);
      await c.raw(i);
    }
    const handlerTimes: number[] = [];
    const rawTimes: number[] = [];
    for (let i = 0; i < iterations; i++) {
      if (i % 2 === 0) {
        handlerTimes.push(await timed(() => c.handler(i)));
        rawTimes.push(await timed(() => c.raw(i)));
      } else {
        rawTimes.push(await timed(() => c.raw(i)));
        handlerTimes.push(await timed(() => c.handler(i)));
      }
    }
    const [h50, r50, h99, r99] = [percentile(handlerTimes, 50), percentile(rawTimes, 50), percentile(handlerTimes, 99), percentile(rawTimes, 99)];
    rows.push({
      operation: c.operation,
      rawCall: c.rawCall,
      iterations,
      handlerP50Ms: round(h50, 3),
      rawP50Ms: round(r50, 3),
      handlerP99Ms: round(h99, 3),
      rawP99Ms: round(r99, 3),
      ratioP50: round(h50 / r50),
      ratioP99: round(h99 / r99),
      targetP50: c.target,
    });
  }
  return rows;
}
