import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { errorName } from './errors.js';
import type { Logger } from './logger.js';
import { sessionTable } from './table-schema.js';

type Key = Record<string, unknown>;

export interface SweepResult {
  /** Items DynamoDB read for this page (what a Scan is billed on), not just the expired ones. */
  scanned: number;
  deleted: number;
  /** Expired keys whose conditional delete was refused: slid since the Scan, or already gone. */
  skipped: number;
  /** Expired keys the page found but left because the sweep stopped (deadline or error); a later lap or TTL takes them. */
  leftOver: number;
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
   * Only items expired at least this long ago are deleted. The delete's condition protects a session
   * slid after the Scan, but not one that nobody has slid yet: a container whose clock runs ahead
   * would otherwise delete a session that another container, a few seconds behind, still reads as
   * live and may be about to slide. DynamoDB TTL remains the backstop either way.
   */
  graceSeconds?: number;
}

/**
 * DeleteItems in flight at once per page. Enough that a page full of expired keys (100) takes about
 * a dozen round trips rather than a hundred; few enough to leave the connection pool (50) to the
 * request the start is really for, and to stop quickly when the deadline passes.
 */
export const SWEEP_DELETES_IN_FLIGHT = 8;

const NAMES = { '#key': sessionTable.partitionKey, '#expiresAt': sessionTable.expiryAttribute };
const NO_SWEEP: SweepResult = { scanned: 0, deleted: 0, skipped: 0, leftOver: 0, lapCompleted: false };

/**
 * Deletes expired sessions one bounded page at a time, continuing where the previous page stopped.
 *
 * Each expired key the Scan finds is deleted with its own `DeleteItem` under `expiresAt < :cutoff`,
 * so a session slid between the Scan and the delete survives whatever any container's clock says.
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

  constructor(private readonly options: SweeperOptions) {
    this.graceSeconds = options.graceSeconds ?? 60;
  }

  /**
   * One page of the sweep. Every request carries `signal`; once it aborts, no new delete starts and
   * the page returns what it did. Never throws: a failed or cut-short sweep is logged and the rest
   * is left to a later start (or to TTL).
   */
  async sweepPage(nowSeconds: number, signal?: AbortSignal): Promise<SweepResult> {
    // One page at a time per instance: concurrent starts would otherwise read the same page twice.
    if (this.options.scanLimit === 0 || this.sweeping) return NO_SWEEP;
    this.sweeping = true;
    const cutoff = nowSeconds - this.graceSeconds;
    let result = NO_SWEEP;
    try {
      const page = await this.options.client.send(
        new ScanCommand({
          TableName: this.options.tableName,
          Limit: this.options.scanLimit,
          ExclusiveStartKey: this.position,
          ProjectionExpression: '#key',
          FilterExpression: '#expiresAt < :cutoff',
          ExpressionAttributeNames: NAMES,
          ExpressionAttributeValues: { ':cutoff': cutoff },
        }),
        { abortSignal: signal },
      );
      // The lap moves on even if this page's deletes are cut short: a slow table must not pin the
      // sweep to one page; what is left here is met again next lap, and reads ignore it meanwhile.
      this.position = page.LastEvaluatedKey;
      const keys = page.Items ?? [];
      const deletes = await this.deleteExpired(keys, cutoff, signal);
      result = {
        scanned: page.ScannedCount ?? 0,
        deleted: deletes.deleted,
        skipped: deletes.skipped,
        leftOver: keys.length - deletes.deleted - deletes.skipped,
        lapCompleted: page.LastEvaluatedKey === undefined,
      };
      if (deletes.failure !== undefined) throw deletes.failure;
      if (signal?.aborted && result.leftOver > 0) this.reportStopped(result);
      return result;
    } catch (error) {
      if (signal?.aborted) this.reportStopped(result);
      else this.options.logger.warn('expired-session sweep failed; sessions are unaffected', { error: errorName(error), deleted: result.deleted, leftOver: result.leftOver });
      return result;
    } finally {
      this.sweeping = false;
    }
  }

  private reportStopped(result: SweepResult): void {
    this.options.logger.warn('expired-session sweep stopped at its deadline; sessions are unaffected', { deleted: result.deleted, leftOver: result.leftOver });
  }

  /**
   * Deletes the keys with a few requests in flight. Stops taking new keys at the first failure or
   * when the signal aborts; returns the counts so far and the first failure, if any.
   */
  private async deleteExpired(keys: Key[], cutoff: number, signal: AbortSignal | undefined): Promise<{ deleted: number; skipped: number; failure?: unknown }> {
    let next = 0;
    let deleted = 0;
    let skipped = 0;
    let failure: unknown;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (!failed && !signal?.aborted) {
        const key = keys[next++];
        if (key === undefined) return;
        try {
          if (await this.deleteIfExpired(key, cutoff, signal)) deleted++;
          else skipped++;
        } catch (error) {
          if (!failed) failure = error;
          failed = true;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(SWEEP_DELETES_IN_FLIGHT, keys.length) }, worker));
    return failed ? { deleted, skipped, failure } : { deleted, skipped };
  }

  /** True when deleted; false when the condition refused (slid since the Scan, or already gone). */
  private async deleteIfExpired(key: Key, cutoff: number, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      await this.options.client.send(
        new DeleteCommand({
          TableName: this.options.tableName,
          Key: key,
          // A missing item fails the condition too: "already gone" is a skip, not an error.
          ConditionExpression: '#expiresAt < :cutoff',
          ExpressionAttributeNames: { '#expiresAt': sessionTable.expiryAttribute },
          ExpressionAttributeValues: { ':cutoff': cutoff },
        }),
        { abortSignal: signal },
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
