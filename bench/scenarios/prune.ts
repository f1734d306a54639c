import { BatchWriteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { scanAll } from '../../scripts/local/scan-all.js';
import { ManualClock } from '../../scripts/local/manual-clock.js';
import { DynamoSessionStore } from '../../lib/dynamo-session-store.js';
import { writeItems } from '../../scripts/local/write-items.js';
import { silentLogger } from '../../lib/logger.js';
import { countRequests, type RequestCounts } from '../../scripts/local/request-counter.js';
import { sessionTable } from '../../lib/table-schema.js';
import { expiredItem, liveItem, progress, type BenchContext } from '../support.js';
import { UnconditionalBatchSweeper } from './unconditional-batch-sweeper.js';

/** What a lap of starts cost, per start, over the first MEASURED_STARTS starts (or the whole lap if shorter). */
export interface LapCost {
  itemsScannedPerStart: number;
  /** Expired items the sweep deleted, per start. */
  deletedPerStart: number;
  /** Every request of a start: the put, the Scan page, the deletes. */
  requestsPerStart: number;
  capacityPerStart: number;
  startsToRemoveAllExpired: number;
  /** Checked with a full scan once the lap completed: must be 0. */
  expiredLeftAfterOneLap: number;
}

export interface PruneRow {
  tableSize: number;
  /** Share of the table expired, in percent. */
  expiredPercent: number;
  expired: number;
  /** The service: one conditional DeleteItem per expired key the page found. */
  ours: LapCost;
  /** Before issue 8: the same page, deleted by unconditional BatchWriteItem (bench copy). */
  unconditionalBatch: LapCost;
  baselineItemsScannedPerStart: number;
  baselineCapacityPerStart: number;
}

export interface PruneResult {
  rows: PruneRow[];
  /** Largest 10 %-expired table's per-start items scanned over the smallest's. */
  oursRatio: number;
  baselineRatio: number;
}

const SCAN_LIMIT = 100;
const MEASURED_STARTS = 20;
const GRACE_SECONDS = 60;

/**
 * What the seed does on every start (`prune_expired!`): read the whole table for expired rows and
 * delete them. Implemented here only, as the baseline.
 */
async function baselineStart(client: DynamoDBDocumentClient, tableName: string, now: number): Promise<void> {
  const { items: expired } = await scanAll(client, {
    TableName: tableName,
    ProjectionExpression: 'sessionId',
    FilterExpression: 'expiresAt < :now',
    ExpressionAttributeValues: { ':now': now },
  });
  for (let i = 0; i < expired.length; i += 25) {
    const chunk = expired.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
    await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: chunk } }));
  }
}

async function countExpired(client: DynamoDBDocumentClient, tableName: string, before: number): Promise<number> {
  const { count } = await scanAll(client, { TableName: tableName, Select: 'COUNT', FilterExpression: 'expiresAt < :t', ExpressionAttributeValues: { ':t': before } });
  return count;
}

/** Runs starts until the sweep completes a lap; costs are averaged over the first MEASURED_STARTS. */
async function runLap(counts: RequestCounts, start: () => Promise<{ deleted: number; lapCompleted: boolean }>): Promise<Omit<LapCost, 'expiredLeftAfterOneLap'>> {
  counts.reset();
  let starts = 0;
  let deleted = 0;
  let lapDone = false;
  let measured: Omit<LapCost, 'expiredLeftAfterOneLap' | 'startsToRemoveAllExpired'> | undefined;
  while (!lapDone) {
    const sweep = await start();
    starts++;
    deleted += sweep.deleted;
    lapDone = sweep.lapCompleted;
    if (!measured && (starts === MEASURED_STARTS || lapDone)) {
      measured = {
        itemsScannedPerStart: counts.itemsScanned / starts,
        deletedPerStart: deleted / starts,
        requestsPerStart: counts.total / starts,
        capacityPerStart: counts.capacityUnits / starts,
      };
    }
  }
  if (!measured) throw new Error('unreachable: a lap ends after at least one start');
  return { ...measured, startsToRemoveAllExpired: starts };
}

/** Scenario 2: prune cost per start as the table grows: ours, ours before issue 8, the seed's full scan. */
export async function measurePrune(context: BenchContext): Promise<PruneResult> {
  const shapes = [...(context.quick ? [1_000, 5_000] : [1_000, 10_000, 100_000]).map((size) => ({ size, expiredPercent: 10 })), { size: 1_000, expiredPercent: 100 }];
  const rows: PruneRow[] = [];
  for (const { size, expiredPercent } of shapes) {
    const clock = new ManualClock();
    const table = await context.newTable(`prune${size}`);
    const expiredCount = (size * expiredPercent) / 100;
    const label = `${size.toLocaleString('en')} sessions (${expiredCount.toLocaleString('en')} expired)`;
    const seed = (count: number, make: (now: number) => Record<string, unknown>) => Array.from({ length: count }, () => make(clock.seconds));
    const seedExpired = () => writeItems(table.client, table.tableName, seed(expiredCount, expiredItem), 16);
    progress(`prune: seeding ${label}`);
    await writeItems(table.client, table.tableName, seed(size - expiredCount, liveItem), 16);
    await seedExpired();

    progress(`prune: ours (conditional DeleteItem) on ${label}`);
    const ours = context.clientFor(table.tableName);
    const store = new DynamoSessionStore({ client: ours.client, tableName: table.tableName, clock: clock.now, logger: silentLogger, pruneScanLimit: SCAN_LIMIT });
    const oursLap = await runLap(countRequests(ours.raw, { askForCapacity: true }), async () => {
      await store.start();
      return store.lastSweep ?? { deleted: 0, lapCompleted: false };
    });
    const oursLeft = await countExpired(table.client, table.tableName, clock.seconds - GRACE_SECONDS);

    progress(`prune: before issue 8 (unconditional BatchWriteItem) on ${label}`);
    // Put the expired share back, so each strategy meets the same table.
    await seedExpired();
    const before = context.clientFor(table.tableName);
    const sweeper = new UnconditionalBatchSweeper(before.client, table.tableName, SCAN_LIMIT);
    const beforeLap = await runLap(countRequests(before.raw, { askForCapacity: true }), async () => {
      // A start as the store made it then: the conditional put beside one sweep page.
      const [, sweep] = await Promise.all([
        before.client.send(
          new PutCommand({ TableName: table.tableName, Item: liveItem(clock.seconds), ConditionExpression: 'attribute_not_exists(#key)', ExpressionAttributeNames: { '#key': sessionTable.partitionKey } }),
        ),
        sweeper.sweepPage(clock.seconds),
      ]);
      return sweep;
    });
    const beforeLeft = await countExpired(table.client, table.tableName, clock.seconds - GRACE_SECONDS);

    progress(`prune: seed's full scan on ${label}`);
    await seedExpired();
    const baseline = context.clientFor(table.tableName);
    const baselineCounts = countRequests(baseline.raw, { askForCapacity: true });
    const baselineRuns = 3;
    for (let i = 0; i < baselineRuns; i++) {
      // Like a start: one new session, then the full-table prune.
      await table.client.send(new BatchWriteCommand({ RequestItems: { [table.tableName]: [{ PutRequest: { Item: liveItem(clock.seconds) } }] } }));
      await baselineStart(baseline.client, table.tableName, clock.seconds);
    }
    rows.push({
      tableSize: size,
      expiredPercent,
      expired: expiredCount,
      ours: { ...oursLap, expiredLeftAfterOneLap: oursLeft },
      unconditionalBatch: { ...beforeLap, expiredLeftAfterOneLap: beforeLeft },
      baselineItemsScannedPerStart: baselineCounts.itemsScanned / baselineRuns,
      baselineCapacityPerStart: baselineCounts.capacityUnits / baselineRuns,
    });
  }
  const tenPercent = rows.filter((r) => r.expiredPercent === 10);
  const first = tenPercent[0];
  const last = tenPercent[tenPercent.length - 1];
  return {
    rows,
    oursRatio: first && last ? last.ours.itemsScannedPerStart / first.ours.itemsScannedPerStart : Number.NaN,
    baselineRatio: first && last ? last.baselineItemsScannedPerStart / first.baselineItemsScannedPerStart : Number.NaN,
  };
}
