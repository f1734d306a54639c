import { untilAborted } from './deadline-budget.js';
import { StoreUnavailableError } from './errors.js';
import { SessionApi, SessionServiceError, type ApiResponse, type SessionClientOptions, type Target } from './session-api.js';
import { MESSAGES_PAGE_MAX_BYTES, routeKey, routes, streamIdSegment } from './routes.js';
import { serviceMessage } from './session-client.js';
import { appendedSeqFrom, errorCodeOf, lastSeqFrom, messagesFrom } from './session-client-response.js';
import type { CallOptions } from './session-store.js';
import {
  InvalidStreamInputError,
  STREAM_READ_MAX,
  STREAM_SEQ_MAX,
  type ReadOptions,
  type SessionStreams,
  type StreamInputProblem,
  type StreamMessage,
  streamMessageText,
  validateStreamIds,
} from './session-streams.js';

/**
 * The session service's streams API as SessionStreams, for MCP front ends that use the service over
 * HTTP: the same base URL, signing, deadlines and retries as SessionClient (lib/session-api.ts), and
 * the same input checks as the in-process DynamoSessionStreams (InvalidStreamInputError, before any
 * request). Failures throw StoreUnavailableError (outages) or SessionServiceError (answers no retry
 * can fix), never an empty read.
 *
 * Appends are not idempotent: a request that reached the service may have stored its message even
 * if its answer never arrived (a timeout, a reset connection, a 5xx), and sending it again would store
 * it twice, under the next number. So an append is retried only when it certainly never reached a
 * handler (API Gateway's 429 throttle, a clock-skew rejection, a connection never made); otherwise
 * it throws StoreUnavailableError and the message may or may not be in the stream - the caller
 * decides (a reader sees it at most once). Reads, lastSeq and removeStream are retried like
 * SessionClient's calls.
 *
 * Appends from one process to one stream are applied in call order, as the interface promises: each
 * waits for the one before it to be answered (or to fail) before it is sent.
 */
export class SessionStreamsClient implements SessionStreams {
  private readonly api: SessionApi;
  /** Per stream, the end of this process's chain of pending appends. */
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(options: SessionClientOptions) {
    this.api = new SessionApi(options, 'SessionStreamsClient');
  }

  append(sessionId: string, streamId: string, message: unknown, options: CallOptions = {}): Promise<number> {
    try {
      validateStreamIds(sessionId, streamId);
      const body = `{"message":${streamMessageText(message)}}`;
      return this.inOrder(sessionId, streamId, options.signal, () => this.send(sessionId, streamId, body, options.signal));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /**
   * Up to `limit` messages after `afterSeq`. The service answers at most MESSAGES_PAGE_MAX_BYTES at a
   * time and says when it stopped short for size; this reads on until it has `limit` or the stream
   * has no more, so large messages never make a read look like the end of the stream. Each page is
   * one call (with SessionClient's retries and per-attempt timeout), so a read of many large messages
   * is several: pass a signal to bound the whole read.
   */
  async readAfter(sessionId: string, streamId: string, afterSeq: number, options: ReadOptions = {}): Promise<StreamMessage[]> {
    validateStreamIds(sessionId, streamId);
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) throw new InvalidStreamInputError('invalid_seq', 'afterSeq must be an integer >= 0');
    const limit = options.limit ?? STREAM_READ_MAX;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidStreamInputError('invalid_limit', 'limit must be an integer >= 1');
    const wanted = Math.min(limit, STREAM_READ_MAX);
    const messages: StreamMessage[] = [];
    let after = afterSeq;
    while (messages.length < wanted && after < STREAM_SEQ_MAX) {
      const page = await this.readPage(sessionId, streamId, after, wanted - messages.length, options.signal);
      messages.push(...page.messages);
      const last = page.messages.at(-1);
      if (!page.more || last === undefined) break;
      after = last.seq;
    }
    return messages;
  }

  async lastSeq(sessionId: string, streamId: string, options: CallOptions = {}): Promise<number> {
    validateStreamIds(sessionId, streamId);
    const { target, response } = await this.api.request({ route: routes.lastSeq, parameters: streamParameters(sessionId, streamId) }, options.signal);
    const seq = response.status === 200 ? lastSeqFrom(response.body) : undefined;
    if (seq === undefined) throw this.refused(target, response);
    return seq;
  }

  async removeStream(sessionId: string, streamId: string, options: CallOptions = {}): Promise<void> {
    validateStreamIds(sessionId, streamId);
    const { target, response } = await this.api.request({ route: routes.removeStream, parameters: streamParameters(sessionId, streamId) }, options.signal);
    if (response.status !== 204) throw this.refused(target, response);
  }

  private async send(sessionId: string, streamId: string, body: string, signal: AbortSignal | undefined): Promise<number> {
    const { target, response } = await this.api.request(
      { route: routes.appendMessage, parameters: streamParameters(sessionId, streamId), body, retry: 'undelivered' },
      signal,
    );
    const seq = response.status === 201 ? appendedSeqFrom(response.body) : undefined;
    if (seq === undefined) throw this.refused(target, response);
    return seq;
  }

  private async readPage(sessionId: string, streamId: string, after: number, limit: number, signal: AbortSignal | undefined) {
    const { target, response } = await this.api.request(
      {
        route: routes.readMessages,
        parameters: streamParameters(sessionId, streamId),
        query: { after: String(after), limit: String(limit) },
        maxResponseBytes: MESSAGES_PAGE_MAX_BYTES,
      },
      signal,
    );
    const page = response.status === 200 ? messagesFrom(response.body, after, limit) : undefined;
    if (!page) throw this.refused(target, response);
    return page;
  }

  /** The service refused the input as the store would (its limits may differ from ours): the same error; anything else is unexpected. */
  private refused(target: Target, response: ApiResponse): Error {
    const code = response.status === 400 || response.status === 413 ? errorCodeOf(response.headers, response.body) : undefined;
    const problem = STREAM_INPUT_PROBLEMS.find((known) => known === code);
    return problem ? new InvalidStreamInputError(problem, serviceMessage(response.body, problem)) : this.api.unexpected(target, response);
  }

  /**
   * Runs `send` after every earlier append of this process to the same stream has settled. The
   * caller's signal ends its wait too (StoreUnavailableError); its turn in the chain then sends
   * nothing (the request loop sends nothing once the signal has aborted), so later appends still
   * wait for the earlier ones that are on the wire.
   */
  private inOrder<T>(sessionId: string, streamId: string, signal: AbortSignal | undefined, send: () => Promise<T>): Promise<T> {
    const key = `${sessionId}#${streamId}`;
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(send);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    // Forget the stream once nothing is pending, so the map holds only streams with appends in flight.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    if (!signal) return result;
    return untilAborted(result, signal).catch((error: unknown) => {
      if (error instanceof StoreUnavailableError || error instanceof InvalidStreamInputError || error instanceof SessionServiceError) throw error;
      throw new StoreUnavailableError(routeKey(routes.appendMessage), { cause: error });
    });
  }
}

const STREAM_INPUT_PROBLEMS: readonly StreamInputProblem[] = ['invalid_session_id', 'invalid_stream_id', 'invalid_message', 'message_too_large', 'invalid_seq', 'invalid_limit'];

const streamParameters = (sessionId: string, streamId: string): Record<string, string> => ({ sessionId, streamId: streamIdSegment(streamId) });

