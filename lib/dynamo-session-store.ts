import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { epochSeconds, type Clock } from './clock.js';
import { DEADLINE_BUDGET, deadlineSignal, untilAborted } from './deadline-budget.js';
import { StoreUnavailableError, errorName } from './errors.js';
import { ExpiredSessionSweeper, type SweepResult } from './expired-session-sweeper.js';
import type { Logger } from './logger.js';
import { isSessionId, newSessionId, sessionTag } from './session-id.js';
import {
  InvalidStateChangeError,
  SUBSCRIPTIONS_MAX,
  isLogLevel,
  parseStartOptions,
  parseStateChange,
  type ActiveSession,
  type OwnerOption,
  type SessionState,
  type SessionStateChange,
  type SessionStatus,
  type SessionStore,
  type StartOptions,
  type StartedSession,
} from './session-store.js';
import { sessionTable } from './table-schema.js';

export const DEFAULT_TTL_SECONDS = 3600;
/** OWASP's absolute timeout: sliding never carries a session past a day from its start. */
export const DEFAULT_MAX_LIFETIME_SECONDS = 86_400;
export const DEFAULT_PRUNE_SCAN_LIMIT = 100;

export interface DynamoSessionStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  clock: Clock;
  logger: Logger;
  ttlSeconds?: number;
  /** Absolute lifetime: expiry never moves past createdAt + this. */
  maxLifetimeSeconds?: number;
  /** Told about what only the store sees, for metrics. */
  events?: StoreEvents;
  /** Items scanned for expired sessions per start; 0 turns pruning off. */
  pruneScanLimit?: number;
  /** Ids to mint; only tests replace it (to force a collision). */
  generateId?: () => string;
  /** Each operation's own deadline, for all its requests; a caller's signal can only shorten it. */
  deadlineMs?: number;
  /** The sweep page's deadline inside a start: shorter, so a slow sweep never costs the start its answer. */
  sweepDeadlineMs?: number;
}

interface SessionItem {
  sessionId: string;
  expiresAt: number;
  createdAt: number;
  owner?: string;
  metadata?: string;
  logLevel?: string;
  /** A String Set, which the document client reads as a Set. */
  subscriptions?: Set<string>;
}

/** What happens inside the store that callers cannot see from its results. */
export interface StoreEvents {
  slid(): void;
  pruned(count: number): void;
}

const NAMES = { '#key': sessionTable.partitionKey, '#expiresAt': sessionTable.expiryAttribute, '#createdAt': sessionTable.createdAttribute };

/**
 * The condition "live and this owner's", the way check compares owners: a session started without
 * an owner matches only a caller presenting none.
 */
function liveAndOwned(owner: string | undefined, now: number): { condition: string; names: Record<string, string>; values: Record<string, unknown> } {
  return {
    condition: `attribute_exists(#key) AND #expiresAt > :now AND ${owner !== undefined ? '#owner = :owner' : 'attribute_not_exists(#owner)'}`,
    names: { '#key': sessionTable.partitionKey, '#expiresAt': sessionTable.expiryAttribute, '#owner': sessionTable.ownerAttribute },
    values: { ':now': now, ...(owner !== undefined ? { ':owner': owner } : {}) },
  };
}

/** The state stored on an item; undefined when nothing was ever set (or all of it was undone). */
function stateOf(item: SessionItem): SessionState | undefined {
  const logLevel = isLogLevel(item.logLevel) ? item.logLevel : undefined;
  const subscriptions = item.subscriptions && item.subscriptions.size > 0 ? [...item.subscriptions].sort() : undefined;
  if (logLevel === undefined && subscriptions === undefined) return undefined;
  return { ...(logLevel !== undefined ? { logLevel } : {}), ...(subscriptions !== undefined ? { subscriptions } : {}) };
}

function activeSession(item: SessionItem, expiresAt: number): ActiveSession {
  const state = stateOf(item);
  return {
    active: true,
    expiresAt,
    ...(item.metadata !== undefined ? { metadata: JSON.parse(item.metadata) as Record<string, unknown> } : {}),
    ...(state !== undefined ? { state } : {}),
  };
}

/** The update expression for one state change, with the names and values it adds. */
function stateUpdate(change: SessionStateChange): { update: string; condition: string; names: Record<string, string>; values: Record<string, unknown> } {
  if ('logLevel' in change) {
    return { update: 'SET #logLevel = :level', condition: '', names: { '#logLevel': sessionTable.logLevelAttribute }, values: { ':level': change.logLevel } };
  }
  const names = { '#subs': sessionTable.subscriptionsAttribute };
  if ('unsubscribe' in change) return { update: 'DELETE #subs :uris', condition: '', names, values: { ':uris': new Set([change.unsubscribe]) } };
  // Re-subscribing to a URI already in a full set is allowed: ADD changes nothing then.
  return {
    update: 'ADD #subs :uris',
    condition: ' AND (attribute_not_exists(#subs) OR size(#subs) < :max OR contains(#subs, :uri))',
    names,
    values: { ':uris': new Set([change.subscribe]), ':uri': change.subscribe, ':max': SUBSCRIPTIONS_MAX },
  };
}

/** Session store over one DynamoDB table; the port of the seed's McpSession model. */
export class DynamoSessionStore implements SessionStore {
  readonly ttlSeconds: number;
  readonly maxLifetimeSeconds: number;
  private readonly sweeper: ExpiredSessionSweeper;
  private readonly generateId: () => string;
  private readonly deadlineMs: number;
  private readonly sweepDeadlineMs: number;
  /** The latest sweep's figures, for tests and the benchmark. */
  lastSweep: SweepResult | undefined;

  constructor(private readonly options: DynamoSessionStoreOptions) {
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.maxLifetimeSeconds = options.maxLifetimeSeconds ?? DEFAULT_MAX_LIFETIME_SECONDS;
    this.generateId = options.generateId ?? newSessionId;
    this.deadlineMs = options.deadlineMs ?? DEADLINE_BUDGET.handlerDeadlineMs;
    this.sweepDeadlineMs = options.sweepDeadlineMs ?? DEADLINE_BUDGET.sweepDeadlineMs;
    this.sweeper = new ExpiredSessionSweeper({
      client: options.client,
      tableName: options.tableName,
      scanLimit: options.pruneScanLimit ?? DEFAULT_PRUNE_SCAN_LIMIT,
      logger: options.logger,
    });
  }

  async start(options: StartOptions = {}): Promise<StartedSession> {
    parseStartOptions(options); // in-process callers are not type-checked at run time either
    const signal = deadlineSignal(this.deadlineMs, options.signal);
    const now = epochSeconds(this.options.clock);
    const fields = {
      ...(options.owner !== undefined ? { owner: options.owner } : {}),
      ...(options.metadata !== undefined ? { metadata: JSON.stringify(options.metadata) } : {}),
    };
    // The sweep runs beside the put, never before it, under its own shorter deadline: it can slow a
    // start by one bounded page at most, and never fails it.
    const [session, sweep] = await Promise.all([
      this.putNewSession(now, fields, signal),
      this.sweeper.sweepPage(now, deadlineSignal(this.sweepDeadlineMs, signal)),
    ]);
    this.lastSweep = sweep;
    if (sweep.deleted > 0) this.options.events?.pruned(sweep.deleted);
    return session;
  }

  async check(sessionId: string, options: OwnerOption = {}): Promise<SessionStatus> {
    if (!isSessionId(sessionId)) return { active: false };
    const signal = deadlineSignal(this.deadlineMs, options.signal);
    const now = epochSeconds(this.options.clock);
    const item = await this.read(sessionId, signal);
    // Someone else's session reads exactly like a missing one: no oracle for stolen ids.
    if (!item || item.expiresAt <= now || item.owner !== options.owner) return { active: false };
    const expiresAt = item.expiresAt - now >= this.ttlSeconds / 2 ? item.expiresAt : await this.slide(sessionId, item, now, signal);
    if (expiresAt === undefined) return { active: false };
    return activeSession(item, expiresAt);
  }

  async updateState(sessionId: string, change: SessionStateChange, options: OwnerOption = {}): Promise<SessionStatus> {
    const parsed = parseStateChange(change); // in-process callers are not type-checked at run time either
    if (!isSessionId(sessionId)) return { active: false };
    const signal = deadlineSignal(this.deadlineMs, options.signal);
    const now = epochSeconds(this.options.clock);
    const live = liveAndOwned(options.owner, now);
    const update = stateUpdate(parsed);
    try {
      // One conditional write: UpdateItem would otherwise upsert, recreating a destroyed session or
      // reviving an expired one; the condition also keeps someone else's session untouched.
      const result = await untilAborted(
        this.options.client.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: { [sessionTable.partitionKey]: sessionId },
            UpdateExpression: update.update,
            ConditionExpression: live.condition + update.condition,
            ExpressionAttributeNames: { ...live.names, ...update.names },
            ExpressionAttributeValues: { ...live.values, ...update.values },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
          { abortSignal: signal },
        ),
        signal,
      );
      const item = result.Attributes as SessionItem;
      return activeSession(item, item.expiresAt);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        // The old item, returned with the failure, tells "full" from "gone" without a second read.
        const old = error.Item ? (unmarshall(error.Item) as Partial<SessionItem>) : undefined;
        const liveOwned = old !== undefined && typeof old.expiresAt === 'number' && old.expiresAt > now && old.owner === options.owner;
        if (liveOwned && 'subscribe' in parsed) {
          throw new InvalidStateChangeError('too_many_subscriptions', `a session has at most ${SUBSCRIPTIONS_MAX} subscriptions`);
        }
        return { active: false };
      }
      throw new StoreUnavailableError('updateState', { cause: error });
    }
  }

  async destroy(sessionId: string, options: OwnerOption = {}): Promise<boolean> {
    if (!isSessionId(sessionId)) return false;
    const signal = deadlineSignal(this.deadlineMs, options.signal);
    const now = epochSeconds(this.options.clock);
    try {
      // One conditional delete: only a live session, and only its owner's. Anything else fails the
      // condition and is left alone (an expired item goes with the sweep or TTL), so the answer
      // "ended" or "nothing to end" costs no extra read.
      const live = liveAndOwned(options.owner, now);
      await untilAborted(
        this.options.client.send(
          new DeleteCommand({
            TableName: this.options.tableName,
            Key: { [sessionTable.partitionKey]: sessionId },
            ConditionExpression: live.condition,
            ExpressionAttributeNames: live.names,
            ExpressionAttributeValues: live.values,
          }),
          { abortSignal: signal },
        ),
        signal,
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new StoreUnavailableError('destroy', { cause: error });
    }
  }

  private async putNewSession(now: number, fields: Pick<SessionItem, 'owner' | 'metadata'>, signal: AbortSignal, attemptsLeft = 2): Promise<StartedSession> {
    const item: SessionItem = { sessionId: this.generateId(), createdAt: now, expiresAt: now + Math.min(this.ttlSeconds, this.maxLifetimeSeconds), ...fields };
    try {
      await untilAborted(
        this.options.client.send(
          new PutCommand({
            TableName: this.options.tableName,
            Item: item,
            ConditionExpression: 'attribute_not_exists(#key)',
            ExpressionAttributeNames: { '#key': sessionTable.partitionKey },
          }),
          { abortSignal: signal },
        ),
        signal,
      );
      return { sessionId: item.sessionId, expiresAt: item.expiresAt };
    } catch (error) {
      // A collision of 122 random bits means a broken generator; one fresh try, then give up loudly.
      if (error instanceof ConditionalCheckFailedException && attemptsLeft > 1) {
        this.options.logger.error('session id collision on start', { session: sessionTag(item.sessionId) });
        return this.putNewSession(now, fields, signal, attemptsLeft - 1);
      }
      throw new StoreUnavailableError('start', { cause: error });
    }
  }

  private async read(sessionId: string, signal: AbortSignal): Promise<SessionItem | undefined> {
    try {
      const result = await untilAborted(
        this.options.client.send(
          new GetCommand({ TableName: this.options.tableName, Key: { [sessionTable.partitionKey]: sessionId }, ConsistentRead: true }),
          { abortSignal: signal },
        ),
        signal,
      );
      return result.Item as SessionItem | undefined;
    } catch (error) {
      throw new StoreUnavailableError('check', { cause: error });
    }
  }

  /**
   * Moves expiry to now + TTL, capped at createdAt + the absolute lifetime, in one conditional
   * write. The condition makes the write refuse to recreate a destroyed session (UpdateItem would
   * otherwise upsert), to revive an expired one, to move expiry backwards past a concurrent slide,
   * and to carry it past the absolute lifetime. When it refuses, the old item returned with the
   * failure tells "someone else slid it" from "gone" without a second read. Returns the expiry now
   * in force, or undefined when the session is gone.
   */
  private async slide(sessionId: string, current: SessionItem, now: number, signal: AbortSignal): Promise<number | undefined> {
    const slidTo = Math.min(now + this.ttlSeconds, current.createdAt + this.maxLifetimeSeconds);
    if (slidTo <= current.expiresAt) return current.expiresAt; // at its absolute limit: nothing to slide
    try {
      await untilAborted(
        this.options.client.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: { [sessionTable.partitionKey]: sessionId },
            UpdateExpression: 'SET #expiresAt = :slidTo',
            ConditionExpression: 'attribute_exists(#key) AND #expiresAt > :now AND #expiresAt < :slidTo AND #createdAt >= :earliestStart',
            ExpressionAttributeNames: NAMES,
            ExpressionAttributeValues: { ':now': now, ':slidTo': slidTo, ':earliestStart': slidTo - this.maxLifetimeSeconds },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
          { abortSignal: signal },
        ),
        signal,
      );
      this.options.events?.slid();
      return slidTo;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const old = error.Item ? (unmarshall(error.Item) as Partial<SessionItem>) : undefined;
        return typeof old?.expiresAt === 'number' && old.expiresAt > now ? old.expiresAt : undefined;
      }
      // The read just proved the session live; a failed slide only means the next check retries it.
      this.options.logger.warn('expiry slide failed; session still active', { session: sessionTag(sessionId), error: errorName(error) });
      return current.expiresAt;
    }
  }
}
