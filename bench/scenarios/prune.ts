import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { scanAll } from '../../lib/local/scan-all.js';
import { ManualClock } from '../../lib/clock.js';
import { DynamoSessionStore } from '../../lib/dynamo-session-store.js';
import { writeItems } from '../../lib/local/write-items.js';
import { silentLogger } from '../../lib/logger.js';
import { countRequests } from '../../lib/request-counter.js';
import { expiredItem, liveItem, progress, type BenchContext } from '../support.js';

export interface PruneRow {
  tableSize: number;
  expired: number;
  oursItemsScannedPerStart: number;
  oursCapacityPerStart: number;
  oursStartsToRemoveAllExpired: number;
  /** Checked with a full scan after ours completed its lap: must be 0. */
  expiredLeftAfterOneLap: number;
  baselineItemsScannedPerStart: number;
  baselineCapacityPerStart: number;
}

export interface PruneResult {
  rows: PruneRow[];
  /** Largest table's per-start items scanned over the smallest's. */
  oursRatio: number;
  baselineRatio: number;
}

const SCAN_LIMIT = 100;

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

/** Scenario 2: prune cost per start as the table grows, ours against the seed's full scan. */
export async function measurePrune(context: BenchContext): Promise<PruneResult> {
  const sizes = context.quick ? [1_000, 5_000] : [1_000, 10_000, 100_000];
  const rows: PruneRow[] = [];
  for (const size of sizes) {
    const clock = new ManualClock();
    const table = await context.newTable(`prune${size}`);
    const expiredCount = size / 10;
    progress(`prune: seeding ${size.toLocaleString('en')} sessions (${expiredCount.toLocaleString('en')} expired)`);
    const seed = (count: number, make: (now: number) => Record<string, unknown>) => Array.from({ length: count }, () => make(clock.seconds));
    await writeItems(table.client, table.tableName, [...seed(size - expiredCount, liveItem), ...seed(expiredCount, expiredItem)], 16);

    progress(`prune: ours on ${size.toLocaleString('en')}`);
    const ours = context.clientFor(table.tableName);
    const oursCounts = countRequests(ours.raw, { askForCapacity: true });
    const store = new DynamoSessionStore({ client: ours.client, tableName: table.tableName, clock: clock.now, logger: silentLogger, pruneScanLimit: SCAN_LIMIT });
    const measured = 20;
    let starts = 0;
    let lapDone = false;
    let scannedInMeasured = 0;
    let capacityInMeasured = 0;
    while (!lapDone) {
      await store.start();
      starts++;
      lapDone = store.lastSweep?.lapCompleted ?? false;
      if (starts === measured || lapDone) {
        scannedInMeasured ||= oursCounts.itemsScanned / starts;
        capacityInMeasured ||= oursCounts.capacityUnits / starts;
      }
    }

    const expiredLeft = await countExpired(table.client, table.tableName, clock.seconds - 60);
    progress(`prune: baseline on ${size.toLocaleString('en')}`);
    // Put the expired share back, so the baseline meets the same table ours met.
    await writeItems(table.client, table.tableName, seed(expiredCount, expiredItem), 16);
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
      expired: expiredCount,
      oursItemsScannedPerStart: scannedInMeasured,
      oursCapacityPerStart: capacityInMeasured,
      oursStartsToRemoveAllExpired: starts,
      expiredLeftAfterOneLap: expiredLeft,
      baselineItemsScannedPerStart: baselineCounts.itemsScanned / baselineRuns,
      baselineCapacityPerStart: baselineCounts.capacityUnits / baselineRuns,
    });
  }
  const first = rows[0];
  const last = rows[rows.length - 1];
  return {
    rows,
    oursRatio: first && last ? last.oursItemsScannedPerStart / first.oursItemsScannedPerStart : Number.NaN,
    baselineRatio: first && last ? last.baselineItemsScannedPerStart / first.baselineItemsScannedPerStart : Number.NaN,
  };
}
