import { BatchWriteCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { errorName } from './errors.js';
import type { Logger } from './logger.js';
import { sessionTable } from './table-schema.js';

type Key = Record<string, unknown>;

export interface SweepResult {
  /** Items DynamoDB read for this page (what a Scan is billed on), not just the expired ones. */
  scanned: number;
  deleted: number;
  /** True when a whole pass over the table has just been completed. */
  lapCompleted: boolean;
}

export interface SweeperOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Items read per sweep page; 0 turns sweeping off. */
  scanLimit: number;
  logger: Logger;
  /**
   * Only items expired at least this long ago are deleted. Deletes are unconditional, so this margin
   * keeps a container whose clock runs ahead from deleting a session that another container, a
   * second behind, is still allowed to slide. DynamoDB TTL remains the backstop either way.
   */
  graceSeconds?: number;
  /** Attempts for a batch whose items DynamoDB left unprocessed. */
  maxBatchAttempts?: number;
}

const BATCH_SIZE = 25;
const NO_SWEEP: SweepResult = { scanned: 0, deleted: 0, lapCompleted: false };
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Deletes expired sessions one bounded page at a time, continuing where the previous page stopped.
 *
 * The sweep position lives in memory, per store instance (one per Lambda container). A position
 * shared in the table would cost a read and a conditional write on every start - more than the
 * sweep itself - and would turn one item into a hot key under concurrent starts. A warm container
 * walks lap after lap over the table; a cold one starts a new lap; items a short-lived container
 * never reaches are removed by DynamoDB TTL, which stays the backstop.
 */
export class ExpiredSessionSweeper {
  private position: Key | undefined;
  private sweeping = false;
  private readonly graceSeconds: number;
  private readonly maxBatchAttempts: number;

  constructor(private readonly options: SweeperOptions) {
    this.graceSeconds = options.graceSeconds ?? 60;
    this.maxBatchAttempts = options.maxBatchAttempts ?? 3;
  }

  /** One page of the sweep. Never throws: a failed sweep is logged and retried on a later start. */
  async sweepPage(nowSeconds: number): Promise<SweepResult> {
    // One page at a time per instance: concurrent starts would otherwise read the same page twice.
    if (this.options.scanLimit === 0 || this.sweeping) return NO_SWEEP;
    this.sweeping = true;
    try {
      const page = await this.options.client.send(
        new ScanCommand({
          TableName: this.options.tableName,
          Limit: this.options.scanLimit,
          ExclusiveStartKey: this.position,
          ProjectionExpression: '#key',
          FilterExpression: '#expiresAt < :cutoff',
          ExpressionAttributeNames: { '#key': sessionTable.partitionKey, '#expiresAt': sessionTable.expiryAttribute },
          ExpressionAttributeValues: { ':cutoff': nowSeconds - this.graceSeconds },
        }),
      );
      this.position = page.LastEvaluatedKey;
      const deleted = await this.deleteAll(page.Items ?? []);
      return { scanned: page.ScannedCount ?? 0, deleted, lapCompleted: page.LastEvaluatedKey === undefined };
    } catch (error) {
      this.options.logger.warn('expired-session sweep failed; sessions are unaffected', { error: errorName(error) });
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

  /** Deletes one batch, retrying what DynamoDB leaves unprocessed; returns how many were deleted. */
  private async deleteBatch(keys: Key[]): Promise<number> {
    const table = this.options.tableName;
    let pending = keys.map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 1; pending.length > 0 && attempt <= this.maxBatchAttempts; attempt++) {
      if (attempt > 1) await pause(25 * 2 ** attempt * Math.random());
      const result = await this.options.client.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = (result.UnprocessedItems?.[table] ?? []).flatMap((request) =>
        request.DeleteRequest?.Key ? [{ DeleteRequest: { Key: request.DeleteRequest.Key } }] : [],
      );
    }
    return keys.length - pending.length;
  }
}
