import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { epochSeconds, type Clock } from './clock.js';
import { StoreUnavailableError, errorName } from './errors.js';
import { ExpiredSessionSweeper, type SweepResult } from './expired-session-sweeper.js';
import type { Logger } from './logger.js';
import { isSessionId, newSessionId, sessionTag } from './session-id.js';
import type { SessionStatus, SessionStore, StartedSession } from './session-store.js';
import { sessionTable } from './table-schema.js';

export const DEFAULT_TTL_SECONDS = 3600;
export const DEFAULT_PRUNE_SCAN_LIMIT = 100;

export interface DynamoSessionStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  clock: Clock;
  logger: Logger;
  ttlSeconds?: number;
  /** Items scanned for expired sessions per start; 0 turns pruning off. */
  pruneScanLimit?: number;
  /** Ids to mint; only tests replace it (to force a collision). */
  generateId?: () => string;
}

interface SessionItem {
  sessionId: string;
  expiresAt: number;
  createdAt: number;
}

const NAMES = { '#key': sessionTable.partitionKey, '#expiresAt': sessionTable.expiryAttribute };

/** Session store over one DynamoDB table; the port of the seed's McpSession model. */
export class DynamoSessionStore implements SessionStore {
  readonly ttlSeconds: number;
  private readonly sweeper: ExpiredSessionSweeper;
  private readonly generateId: () => string;
  /** The latest sweep's figures, for tests and the benchmark. */
  lastSweep: SweepResult | undefined;

  constructor(private readonly options: DynamoSessionStoreOptions) {
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.generateId = options.generateId ?? newSessionId;
    this.sweeper = new ExpiredSessionSweeper({
      client: options.client,
      tableName: options.tableName,
      scanLimit: options.pruneScanLimit ?? DEFAULT_PRUNE_SCAN_LIMIT,
      logger: options.logger,
    });
  }

  async start(): Promise<StartedSession> {
    const now = epochSeconds(this.options.clock);
    // The sweep runs beside the put, never before it: it can slow a start by one page at most.
    const [session, sweep] = await Promise.all([this.putNewSession(now), this.sweeper.sweepPage(now)]);
    this.lastSweep = sweep;
    return session;
  }

  async check(sessionId: string): Promise<SessionStatus> {
    if (!isSessionId(sessionId)) return { active: false };
    const now = epochSeconds(this.options.clock);
    const item = await this.read(sessionId);
    if (!item || item.expiresAt <= now) return { active: false };
    if (item.expiresAt - now >= this.ttlSeconds / 2) return { active: true, expiresAt: item.expiresAt };
    return this.slide(sessionId, item, now);
  }

  async destroy(sessionId: string): Promise<void> {
    if (!isSessionId(sessionId)) return;
    try {
      await this.options.client.send(new DeleteCommand({ TableName: this.options.tableName, Key: { [sessionTable.partitionKey]: sessionId } }));
    } catch (error) {
      throw new StoreUnavailableError('destroy', { cause: error });
    }
  }

  private async putNewSession(now: number, attemptsLeft = 2): Promise<StartedSession> {
    const item: SessionItem = { sessionId: this.generateId(), createdAt: now, expiresAt: now + this.ttlSeconds };
    try {
      await this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#key)',
          ExpressionAttributeNames: { '#key': sessionTable.partitionKey },
        }),
      );
      return { sessionId: item.sessionId, expiresAt: item.expiresAt };
    } catch (error) {
      // A collision of 122 random bits means a broken generator; one fresh try, then give up loudly.
      if (error instanceof ConditionalCheckFailedException && attemptsLeft > 1) {
        this.options.logger.error('session id collision on start', { session: sessionTag(item.sessionId) });
        return this.putNewSession(now, attemptsLeft - 1);
      }
      throw new StoreUnavailableError('start', { cause: error });
    }
  }

  private async read(sessionId: string): Promise<SessionItem | undefined> {
    try {
      const result = await this.options.client.send(
        new GetCommand({ TableName: this.options.tableName, Key: { [sessionTable.partitionKey]: sessionId }, ConsistentRead: true }),
      );
      return result.Item as SessionItem | undefined;
    } catch (error) {
      throw new StoreUnavailableError('check', { cause: error });
    }
  }

  /**
   * Moves expiry to now + TTL in one conditional write. The condition makes the write refuse to
   * recreate a destroyed session (UpdateItem would otherwise upsert), to revive an expired one, and
   * to move expiry backwards past a concurrent slide. When it refuses, the old item returned with
   * the failure tells "someone else slid it" from "gone" without a second read.
   */
  private async slide(sessionId: string, current: SessionItem, now: number): Promise<SessionStatus> {
    const slidTo = now + this.ttlSeconds;
    try {
      await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [sessionTable.partitionKey]: sessionId },
          UpdateExpression: 'SET #expiresAt = :slidTo',
          ConditionExpression: 'attribute_exists(#key) AND #expiresAt > :now AND #expiresAt < :slidTo',
          ExpressionAttributeNames: NAMES,
          ExpressionAttributeValues: { ':now': now, ':slidTo': slidTo },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { active: true, expiresAt: slidTo };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const old = error.Item ? (unmarshall(error.Item) as Partial<SessionItem>) : undefined;
        return typeof old?.expiresAt === 'number' && old.expiresAt > now ? { active: true, expiresAt: old.expiresAt } : { active: false };
      }
      // The read just proved the session live; a failed slide only means the next check retries it.
      this.options.logger.warn('expiry slide failed; session still active', { session: sessionTag(sessionId), error: errorName(error) });
      return { active: true, expiresAt: current.expiresAt };
    }
  }
}
