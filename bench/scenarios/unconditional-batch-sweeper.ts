import { BatchWriteCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sessionTable } from '../../lib/table-schema.js';

type Key = Record<string, unknown>;

export interface UnconditionalSweepResult {
  scanned: number;
  deleted: number;
  lapCompleted: boolean;
}

const BATCH_SIZE = 25;
const MAX_BATCH_ATTEMPTS = 3;
const GRACE_SECONDS = 60;
const NO_SWEEP: UnconditionalSweepResult = { scanned: 0, deleted: 0, lapCompleted: false };
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * BENCH COMPARISON ONLY - the sweep as the service ran it before issue 8, copied faithfully from
 * lib/expired-session-sweeper.ts at f78d04d (logging left out): one Scan page, then the expired keys
 * deleted by unconditional `BatchWriteItem` in chunks of 25 with retries of unprocessed items. Do not
 * use it: a session slid between its Scan and its delete is deleted anyway (test/prune.test.ts shows
 * the service's conditional deletes do not). Kept so the bench can price the conditional deletes
 * against it.
 */
export class UnconditionalBatchSweeper {
  private position: Key | undefined;
  private sweeping = false;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly scanLimit: number,
  ) {}

  async sweepPage(nowSeconds: number): Promise<UnconditionalSweepResult> {
    if (this.scanLimit === 0 || this.sweeping) return NO_SWEEP;
    this.sweeping = true;
    try {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          Limit: this.scanLimit,
          ExclusiveStartKey: this.position,
          ProjectionExpression: '#key',
          FilterExpression: '#expiresAt < :cutoff',
          ExpressionAttributeNames: { '#key': sessionTable.partitionKey, '#expiresAt': sessionTable.expiryAttribute },
          ExpressionAttributeValues: { ':cutoff': nowSeconds - GRACE_SECONDS },
        }),
      );
      this.position = page.LastEvaluatedKey;
      const deleted = await this.deleteAll(page.Items ?? []);
      return { scanned: page.ScannedCount ?? 0, deleted, lapCompleted: page.LastEvaluatedKey === undefined };
    } catch {
      return NO_SWEEP;
    } finally {
      this.sweeping = false;
    }
  }

  private async deleteAll(keys: Key[]): Promise<number> {
    const batches: Key[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_SIZE) batches.push(keys.slice(i, i + BATCH_SIZE));
    const counts = await Promise.all(batches.map((batch) => this.deleteBatch(batch)));
    return counts.reduce((sum, n) => sum + n, 0);
  }

  private async deleteBatch(keys: Key[]): Promise<number> {
    const table = this.tableName;
    let pending = keys.map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 1; pending.length > 0 && attempt <= MAX_BATCH_ATTEMPTS; attempt++) {
      if (attempt > 1) await pause(25 * 2 ** attempt * Math.random());
      const result = await this.client.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = (result.UnprocessedItems?.[table] ?? []).flatMap((request) =>
        request.DeleteRequest?.Key ? [{ DeleteRequest: { Key: request.DeleteRequest.Key } }] : [],
      );
    }
    return keys.length - pending.length;
  }
}
