import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { epochSeconds, type Clock } from './clock.js';
import { DEADLINE_BUDGET, deadlineSignal, untilAborted } from './deadline-budget.js';
import { StoreUnavailableError, errorName } from './errors.js';
import { silentLogger, type Logger } from './logger.js';
import { sessionTag } from './session-id.js';
import type { CallOptions } from './session-store.js';
import {
  DEFAULT_STREAM_RETENTION_SECONDS,
  InvalidStreamInputError,
  STREAM_READ_MAX,
  STREAM_SEQ_MAX,
  type ReadOptions,
  type SessionStreams,
  type StreamMessage,
  streamMessageText,
  validateStreamIds,
} from './session-streams.js';
import { streamsTable } from './table-schema.js';

/** Streams whose last sequence number this process remembers; the least recently used go first. */
export const DEFAULT_SEQ_CACHE_SIZE = 10_000;
/** Conditional puts per append before it gives up (its deadline may end it sooner): each lost race means another writer's append succeeded. */
export const DEFAULT_APPEND_ATTEMPTS = 20;
/** Full-jitter backoff between lost races: up to 5, 10, 20 ... 200 ms. */
const APPEND_BACKOFF_BASE_MS = 5;
const APPEND_BACKOFF_MAX_MS = 200;

export interface DynamoSessionStreamsOptions {
  client: DynamoDBDocumentClient;
  /** The streams table (createStreamsTableInput), not the sessions table. */
  tableName: string;
  clock: Clock;
  logger?: Logger;
  /** How long a message is kept after it was written; the item's TTL. */
  retentionSeconds?: number;
  /** Each operation's own deadline, for all its requests; a caller's signal can only shorten it. */
  deadlineMs?: number;
  seqCacheSize?: number;
  appendAttempts?: number;
}

interface StreamItem {
  sessionId: string;
  stream: string;
  message: string;
  expiresAt: number;
}

const NAMES = { '#session': streamsTable.partitionKey, '#stream': streamsTable.sortKey };
const BATCH_WRITE_MAX = 25;

const sortKey = (streamId: string, seq: number): string => `${streamId}${streamsTable.separator}${String(seq).padStart(streamsTable.seqDigits, '0')}`;
const seqOf = (key: string): number => Number(key.slice(-streamsTable.seqDigits));
/** One stream of one session, for the in-process maps (stream ids never contain the separator). */
const streamKey = (sessionId: string, streamId: string): string => `${sessionId}${streamsTable.separator}${streamId}`;

/** The last sequence numbers this process wrote, bounded: a Map iterates in insertion order, so the first key is the least recently used. */
class SeqCache {
  private readonly entries = new Map<string, number>();
  constructor(private readonly max: number) {}

  get(key: string): number | undefined {
    const seq = this.entries.get(key);
    if (seq !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, seq);
    }
    return seq;
  }

  set(key: string, seq: number): void {
    this.entries.delete(key);
    this.entries.set(key, seq);
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

/** Waits `ms`, or rejects as soon as the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return untilAborted(new Promise<void>((resolve) => setTimeout(resolve, ms).unref()), signal);
}


/**
 * SessionStreams over one DynamoDB table, one item per message. An append is one conditional
 * PutItem at the stream's next sequence number, which this process remembers for the streams it
 * writes: a single writer costs one request per append, and a writer that loses a race to another
 * instance reads the newest number and tries again after it.
 */
export class DynamoSessionStreams implements SessionStreams {
  readonly retentionSeconds: number;
  private readonly deadlineMs: number;
  private readonly appendAttempts: number;
  private readonly logger: Logger;
  private readonly lastSeqs: SeqCache;
  /** Per stream, the end of the chain of this process's pending appends and removals. */
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly options: DynamoSessionStreamsOptions) {
    this.retentionSeconds = options.retentionSeconds ?? DEFAULT_STREAM_RETENTION_SECONDS;
    this.deadlineMs = options.deadlineMs ?? DEADLINE_BUDGET.handlerDeadlineMs;
    this.appendAttempts = options.appendAttempts ?? DEFAULT_APPEND_ATTEMPTS;
    this.logger = options.logger ?? silentLogger;
    this.lastSeqs = new SeqCache(options.seqCacheSize ?? DEFAULT_SEQ_CACHE_SIZE);
  }

  append(sessionId: string, streamId: string, message: unknown, options: CallOptions = {}): Promise<number> {
    try {
      validateStreamIds(sessionId, streamId);
      const text = streamMessageText(message);
      return this.withDeadline(options.signal, (signal) => this.inOrder('append', sessionId, streamId, signal, () => this.appendNow(sessionId, streamId, text, signal)));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  async readAfter(sessionId: string, streamId: string, afterSeq: number, options: ReadOptions = {}): Promise<StreamMessage[]> {
    validateStreamIds(sessionId, streamId);
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) throw new InvalidStreamInputError('invalid_seq', 'afterSeq must be an integer >= 0');
    const limit = options.limit ?? STREAM_READ_MAX;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidStreamInputError('invalid_limit', 'limit must be an integer >= 1');
    if (afterSeq >= STREAM_SEQ_MAX) return [];
    return this.withDeadline(options.signal, (signal) => this.readPages(sessionId, streamId, afterSeq, limit, signal));
  }

  private async readPages(sessionId: string, streamId: string, afterSeq: number, limit: number, signal: AbortSignal): Promise<StreamMessage[]> {
    const now = epochSeconds(this.options.clock);
    const pageSize = Math.min(limit, STREAM_READ_MAX);
    const messages: StreamMessage[] = [];
    let startKey: Record<string, unknown> | undefined;
    // One Query answers it unless expired messages (not yet deleted by TTL) fill the page: then
    // the next page, so an old expired run never hides newer messages behind an empty answer.
    do {
      const page = await this.query(
        'readAfter',
        {
          ...this.rangeQuery(sessionId, streamId, afterSeq + 1, STREAM_SEQ_MAX),
          Limit: pageSize - messages.length,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        },
        signal,
      );
      for (const item of (page.Items ?? []) as StreamItem[]) {
        if (item.expiresAt > now) messages.push({ seq: seqOf(item.stream), message: this.parse(sessionId, item) });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined && messages.length < pageSize);
    return messages;
  }

  async lastSeq(sessionId: string, streamId: string, options: CallOptions = {}): Promise<number> {
    validateStreamIds(sessionId, streamId);
    return this.withDeadline(options.signal, (signal) => this.newest(sessionId, streamId, 'lastSeq', signal));
  }

  removeStream(sessionId: string, streamId: string, options: CallOptions = {}): Promise<void> {
    try {
      validateStreamIds(sessionId, streamId);
      return this.withDeadline(options.signal, (signal) => this.inOrder('removeStream', sessionId, streamId, signal, () => this.removeNow(sessionId, streamId, signal)));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /**
   * Runs a call under its own deadline, which the caller's signal can only shorten. Once the call
   * has answered, the deadline's timer and its listener on the caller's signal go at once: readers
   * poll, often under one long-lived signal, and must not pile either up.
   */
  private async withDeadline<T>(outer: AbortSignal | undefined, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const settled = new AbortController();
    const follow = () => settled.abort(outer?.reason);
    if (outer?.aborted) follow();
    else outer?.addEventListener('abort', follow, { once: true });
    try {
      return await call(deadlineSignal(this.deadlineMs, settled.signal));
    } finally {
      outer?.removeEventListener('abort', follow);
      // Ends the deadline signal (clearing its timer); anything still running for this call is abandoned work.
      if (!settled.signal.aborted) settled.abort(new DOMException('call answered', 'AbortError'));
    }
  }

  /**
   * Runs `work` after every earlier append or removal of this stream from this process, so they
   * apply in call order. The caller's deadline still holds while it waits; the chain entry is
   * dropped once the stream is idle, so only streams with pending work cost memory.
   */
  private inOrder<T>(operation: string, sessionId: string, streamId: string, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    const key = streamKey(sessionId, streamId);
    const previous = this.tails.get(key) ?? Promise.resolve();
    // A call whose deadline passed while it queued does nothing (its write must not land late).
    const run = previous.then(() => (signal.aborted ? Promise.reject(new StoreUnavailableError(operation, { cause: signal.reason })) : work()));
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return untilAborted(run, signal).catch((error: unknown) => {
      throw error instanceof StoreUnavailableError ? error : new StoreUnavailableError(operation, { cause: error });
    });
  }

  /**
   * A stream this process has not written is most likely new (a request's own stream): it tries 1
   * first rather than read before every first write. A lost race reads the newest number and tries
   * the one after it. Another instance appending back to back keeps winning (each of its puts leaves
   * before our read answers), so from the second lost race on it pauses, with growing jitter, until
   * that burst ends; the attempts and the deadline bound the wait.
   */
  private async appendNow(sessionId: string, streamId: string, text: string, signal: AbortSignal): Promise<number> {
    const key = streamKey(sessionId, streamId);
    let seq = (this.lastSeqs.get(key) ?? 0) + 1;
    for (let attempt = 1; ; attempt++) {
      if (seq > STREAM_SEQ_MAX) throw new StoreUnavailableError('append', { cause: new RangeError('stream is full') });
      if (await this.put(sessionId, streamId, seq, text, signal)) {
        this.lastSeqs.set(key, seq);
        return seq;
      }
      if (attempt >= this.appendAttempts) {
        this.logger.warn('stream append lost every race', { session: sessionTag(sessionId), attempts: attempt });
        throw new StoreUnavailableError('append', { cause: new Error(`lost ${attempt} races for the next sequence number`) });
      }
      if (attempt >= 2) await pause(Math.random() * Math.min(APPEND_BACKOFF_MAX_MS, APPEND_BACKOFF_BASE_MS * 2 ** (attempt - 2)), signal);
      seq = Math.max(seq + 1, (await this.newest(sessionId, streamId, 'append', signal)) + 1);
    }
  }

  /** One conditional put; false when that sequence number is taken. */
  private async put(sessionId: string, streamId: string, seq: number, text: string, signal: AbortSignal): Promise<boolean> {
    const item: StreamItem = {
      sessionId,
      stream: sortKey(streamId, seq),
      message: text,
      expiresAt: epochSeconds(this.options.clock) + this.retentionSeconds,
    };
    try {
      await untilAborted(
        this.options.client.send(
          new PutCommand({
            TableName: this.options.tableName,
            Item: item,
            ConditionExpression: 'attribute_not_exists(#stream)',
            ExpressionAttributeNames: { '#stream': streamsTable.sortKey },
          }),
          { abortSignal: signal },
        ),
        signal,
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new StoreUnavailableError('append', { cause: error });
    }
  }

  /** The newest sequence number stored (expired or not: the next append still goes after it), 0 when none. */
  private async newest(sessionId: string, streamId: string, operation: string, signal: AbortSignal): Promise<number> {
    const page = await this.query(
      operation,
      { ...this.rangeQuery(sessionId, streamId, 1, STREAM_SEQ_MAX), ScanIndexForward: false, Limit: 1, ProjectionExpression: '#stream' },
      signal,
    );
    const item = page.Items?.[0] as Pick<StreamItem, 'stream'> | undefined;
    return item ? seqOf(item.stream) : 0;
  }

  private async removeNow(sessionId: string, streamId: string, signal: AbortSignal): Promise<void> {
    this.lastSeqs.delete(streamKey(sessionId, streamId));
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.query(
        'removeStream',
        { ...this.rangeQuery(sessionId, streamId, 1, STREAM_SEQ_MAX), ProjectionExpression: '#session, #stream', ...(startKey ? { ExclusiveStartKey: startKey } : {}) },
        signal,
      );
      const keys = ((page.Items ?? []) as Pick<StreamItem, 'sessionId' | 'stream'>[]).map((item) => ({
        [streamsTable.partitionKey]: item.sessionId,
        [streamsTable.sortKey]: item.stream,
      }));
      for (let i = 0; i < keys.length; i += BATCH_WRITE_MAX) await this.deleteKeys(keys.slice(i, i + BATCH_WRITE_MAX), signal);
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  /** Deletes up to 25 keys, resending what DynamoDB left unprocessed until the deadline. */
  private async deleteKeys(keys: Record<string, unknown>[], signal: AbortSignal): Promise<void> {
    let pending = keys.map((Key) => ({ DeleteRequest: { Key } }));
    while (pending.length > 0) {
      try {
        const result = await untilAborted(
          this.options.client.send(new BatchWriteCommand({ RequestItems: { [this.options.tableName]: pending } }), { abortSignal: signal }),
          signal,
        );
        pending = (result.UnprocessedItems?.[this.options.tableName] ?? []).flatMap((request) =>
          request.DeleteRequest?.Key ? [{ DeleteRequest: { Key: request.DeleteRequest.Key } }] : [],
        );
      } catch (error) {
        throw new StoreUnavailableError('removeStream', { cause: error });
      }
    }
  }

  private rangeQuery(sessionId: string, streamId: string, fromSeq: number, toSeq: number): Omit<QueryCommandInput, 'ProjectionExpression'> {
    return {
      TableName: this.options.tableName,
      KeyConditionExpression: '#session = :session AND #stream BETWEEN :from AND :to',
      ExpressionAttributeNames: NAMES,
      ExpressionAttributeValues: { ':session': sessionId, ':from': sortKey(streamId, fromSeq), ':to': sortKey(streamId, toSeq) },
      // Every read is consistent: a reader told "seq n exists" must be able to read it at once.
      ConsistentRead: true,
    };
  }

  private async query(operation: string, input: QueryCommandInput, signal: AbortSignal) {
    try {
      return await untilAborted(this.options.client.send(new QueryCommand(input), { abortSignal: signal }), signal);
    } catch (error) {
      throw new StoreUnavailableError(operation, { cause: error });
    }
  }

  private parse(sessionId: string, item: StreamItem): unknown {
    try {
      return JSON.parse(item.message);
    } catch (error) {
      // Only a hand-edited item gets here; the stream must still be readable past it.
      this.logger.error('unreadable stream message', { session: sessionTag(sessionId), seq: seqOf(item.stream), error: errorName(error) });
      return null;
    }
  }
}
