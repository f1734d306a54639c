import { systemClock, type Clock } from '../../clock.js';
import { sessionClientWorstCaseMs } from '../../deadline-budget.js';
import { StoreUnavailableError, errorName } from '../../errors.js';
import { silentLogger, type Logger } from '../../logger.js';
import { RETRY_AFTER_SECONDS } from '../../routes.js';
import { sessionTag } from '../../session-id.js';
import type { SessionStreams, StreamMessage } from '../../session-streams.js';
import { jsonRpcError, type JsonRpcId } from '../json-rpc.js';
import { PROTOCOL_VERSION_HEADER } from '../protocol-versions.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from './session-event-store.js';
import { SseStream } from './sse-stream.js';
import { STANDALONE_STREAM_ID, asStreamHeader, formatEventId, isStreamMarker, parseEventId, requestKey, responseId } from './stream-events.js';
import { Backoff, eitherSignal, sleep, storeCall } from './timing.js';

/** Polls of a served stream: from this delay after progress, doubling to the maximum when idle. */
export const DEFAULT_STREAM_POLL_MIN_MS = 100;
/** The idle rate: one read per second per open stream at most. */
export const DEFAULT_STREAM_POLL_MAX_MS = 1000;
/** A served GET stream ends after this long; the client reconnects with its Last-Event-ID and loses nothing. */
export const DEFAULT_MAX_STREAM_MS = 5 * 60_000;

export interface SessionStreamServerOptions {
  streams: SessionStreams;
  logger?: Logger;
  clock?: Clock;
  /** Each store call's deadline (default: SessionClient's worst case, as the gate). */
  storeDeadlineMs?: number;
  /** The writers' heartbeat interval (SessionEventStore); the liveness timeout defaults to three of them. */
  heartbeatIntervalMs?: number;
  /** With nothing new on a resumed request stream for this long, its writer is taken for gone. */
  livenessTimeoutMs?: number;
  pollMinMs?: number;
  pollMaxMs?: number;
  keepAliveMs?: number;
  maxStreamMs?: number;
  /** SSE `retry` hint (ms) sent at the start of every served stream. */
  retryIntervalMs?: number;
  /** Ends every served stream (the handler closing). */
  signal?: AbortSignal;
}

/** What a resumer sends for a request whose instance stopped: the client may simply retry it. */
export const WRITER_GONE_ERROR = { code: -32603, message: 'The instance handling this request stopped; retry the request' } as const;

/**
 * Serves a session's GET requests from the session's streams, on any instance:
 *
 * - with `Last-Event-ID` of a POST stream (`<uuid>.<seq>`): replays the stored events after it,
 *   then polls for more until the response to each of the stream's requests was sent, and ends.
 *   A stream whose responses were all sent already gets 204 (an EventSource stops reconnecting);
 *   one with nothing stored yet is waited for (before answering) for the liveness timeout, then
 *   204. When nothing new - not even the writer's heartbeat - arrives for the liveness timeout,
 *   the writer is taken for gone: each pending request gets a JSON-RPC error (stored, so a later
 *   resume sees the stream complete), and the stream ends.
 * - without `Last-Event-ID`, or with one of `_GET_stream`: the standalone stream, tailing the
 *   session's `_GET_stream` from its newest message (or the id's), with a priming event so the
 *   client always holds a cursor. Two such GETs of one session are both served (no instance
 *   knows of the other; each gets every message).
 *
 * Every event carries its id; keep-alive comments flow while idle; a stream ends after
 * `maxStreamMs` (the client reconnects from its Last-Event-ID). A store outage before the stream
 * starts is a 503, during it the end of the stream.
 */
export function sessionStreamServer(options: SessionStreamServerOptions): (request: Request, sessionId: string) => Promise<Response> {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const deadlineMs = options.storeDeadlineMs ?? sessionClientWorstCaseMs();
  const livenessMs = options.livenessTimeoutMs ?? 3 * (options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS);
  const pollMin = options.pollMinMs ?? DEFAULT_STREAM_POLL_MIN_MS;
  const pollMax = options.pollMaxMs ?? DEFAULT_STREAM_POLL_MAX_MS;
  const maxStreamMs = options.maxStreamMs ?? DEFAULT_MAX_STREAM_MS;
  const { streams } = options;

  /** Every message after `after` (all pages). */
  async function readAll(sessionId: string, streamId: string, after: number, signal: AbortSignal): Promise<StreamMessage[]> {
    const all: StreamMessage[] = [];
    for (;;) {
      const page = await storeCall('readAfter', deadlineMs, signal, (inner) => streams.readAfter(sessionId, streamId, after, { signal: inner }));
      all.push(...page);
      const last = page.at(-1);
      if (last === undefined) return all;
      after = last.seq;
    }
  }

  const newSse = () => new SseStream(options.keepAliveMs === undefined ? {} : { keepAliveMs: options.keepAliveMs });

  /** Runs a served stream's loop in the background; it ends the stream whatever happens. */
  function run(sse: SseStream, request: Request, sessionId: string, loop: (signal: AbortSignal) => Promise<void>): Response {
    const stop = eitherSignal(sse.signal, request.signal, options.signal);
    loop(stop.signal)
      .catch((error: unknown) => {
        if (!stop.signal.aborted) logger.warn('served stream ended on a store failure', { session: sessionTag(sessionId), error: errorName(error) });
      })
      .finally(() => {
        stop.dispose();
        sse.close();
      });
    return sse.response;
  }

  async function resumeRequestStream(request: Request, sessionId: string, streamId: string, cursor: number): Promise<Response> {
    const signal = eitherSignal(request.signal, options.signal);
    let stored: StreamMessage[];
    try {
      stored = await readAll(sessionId, streamId, 0, signal.signal);
      // Nothing yet: its writer may still be storing it (a client that reconnected at once); wait, bounded.
      const waitUntil = clock() + livenessMs;
      const backoff = new Backoff(pollMin, pollMax);
      while (stored.length === 0 && clock() < waitUntil && !signal.signal.aborted) {
        await sleep(backoff.next(), signal.signal);
        if (!signal.signal.aborted) stored = await readAll(sessionId, streamId, 0, signal.signal);
      }
    } finally {
      signal.dispose();
    }
    if (stored.length === 0) return new Response(null, { status: 204 });

    const header = asStreamHeader(stored[0]?.message);
    const pending = new Map<string, JsonRpcId>((header?.requestIds ?? []).map((id) => [requestKey(id), id]));
    const take = (message: unknown) => {
      const id = responseId(message);
      if (id !== undefined) pending.delete(requestKey(id));
    };
    for (const { seq, message } of stored) if (seq <= cursor) take(message);
    if (header !== undefined && pending.size === 0) return new Response(null, { status: 204 });

    const sse = newSse();
    if (options.retryIntervalMs !== undefined) sse.retry(options.retryIntervalMs);
    const complete = () => header !== undefined && pending.size === 0;
    return run(sse, request, sessionId, async (stop) => {
      let lastSeq = cursor;
      const send = (events: StreamMessage[]) => {
        for (const { seq, message } of events) {
          if (seq <= lastSeq) continue;
          lastSeq = seq;
          if (isStreamMarker(message)) continue;
          sse.event(formatEventId(streamId, seq), message);
          take(message);
        }
      };
      send(stored);
      // Markers before the cursor still count as the stream's newest item.
      lastSeq = Math.max(lastSeq, stored.at(-1)?.seq ?? 0);
      const started = clock();
      let progressAt = started;
      const backoff = new Backoff(pollMin, pollMax);
      while (!complete() && !stop.aborted) {
        if (clock() - started >= maxStreamMs) return; // the client resumes from its last id
        if (clock() - progressAt >= livenessMs) {
          if (header !== undefined) await writerGone(sse, sessionId, streamId, [...pending.values()], lastSeq, stop);
          return;
        }
        await sleep(backoff.next(), stop);
        if (stop.aborted) return;
        const fresh = await readAll(sessionId, streamId, lastSeq, stop);
        if (fresh.length > 0) {
          progressAt = clock(); // a heartbeat is a sign of life...
          // ...but not of traffic: only real events speed the polls up, so a long call costs the idle rate.
          if (fresh.some(({ message }) => !isStreamMarker(message))) backoff.reset();
          send(fresh);
        }
      }
    });
  }

  /** Stores (and sends) an error for each request whose writer went silent; sent even if it cannot be stored. */
  async function writerGone(sse: SseStream, sessionId: string, streamId: string, ids: JsonRpcId[], lastSeq: number, stop: AbortSignal): Promise<void> {
    logger.warn('resumed stream: its writer went silent; answering its requests with an error', { session: sessionTag(sessionId), requests: ids.length });
    for (const id of ids) {
      const message = { jsonrpc: '2.0', id, error: WRITER_GONE_ERROR };
      let seq: number | undefined;
      try {
        seq = await storeCall('append', deadlineMs, stop, (signal) => streams.append(sessionId, streamId, message, { signal }));
      } catch (error) {
        logger.warn('writer-gone error not stored', { session: sessionTag(sessionId), error: errorName(error) });
      }
      // Unstored, it still needs an id: the last one sent keeps the client's cursor where it was.
      sse.event(formatEventId(streamId, seq ?? lastSeq), message);
    }
  }

  async function tailStandalone(request: Request, sessionId: string, from: number | undefined): Promise<Response> {
    const signal = eitherSignal(request.signal, options.signal);
    let cursor: number;
    let first: StreamMessage[];
    try {
      if (from === undefined) {
        cursor = await storeCall('lastSeq', deadlineMs, signal.signal, (inner) => streams.lastSeq(sessionId, STANDALONE_STREAM_ID, { signal: inner }));
        first = [];
      } else {
        cursor = from;
        first = await readAll(sessionId, STANDALONE_STREAM_ID, from, signal.signal);
      }
    } finally {
      signal.dispose();
    }
    const sse = newSse();
    // Older clients cannot take an event with empty data (the SDK's rule for its priming event).
    const version = request.headers.get(PROTOCOL_VERSION_HEADER) ?? '';
    if (version >= '2025-11-25') sse.prime(formatEventId(STANDALONE_STREAM_ID, cursor), options.retryIntervalMs);
    else if (options.retryIntervalMs !== undefined) sse.retry(options.retryIntervalMs);
    return run(sse, request, sessionId, async (stop) => {
      const send = (events: StreamMessage[]) => {
        for (const { seq, message } of events) {
          if (seq <= cursor) continue;
          cursor = seq;
          if (!isStreamMarker(message)) sse.event(formatEventId(STANDALONE_STREAM_ID, seq), message);
        }
      };
      send(first);
      const started = clock();
      const backoff = new Backoff(pollMin, pollMax);
      while (!stop.aborted && clock() - started < maxStreamMs) {
        await sleep(backoff.next(), stop);
        if (stop.aborted) return;
        const fresh = await readAll(sessionId, STANDALONE_STREAM_ID, cursor, stop);
        if (fresh.length > 0) {
          backoff.reset();
          send(fresh);
        }
      }
    });
  }

  return async (request, sessionId) => {
    if (!request.headers.get('accept')?.includes('text/event-stream')) {
      return jsonRpcError(406, -32000, 'Not Acceptable: Client must accept text/event-stream');
    }
    const lastEventId = request.headers.get('last-event-id');
    try {
      if (lastEventId === null || lastEventId === '') return await tailStandalone(request, sessionId, undefined);
      const parsed = parseEventId(lastEventId);
      if (parsed === undefined) return jsonRpcError(400, -32000, 'Bad Request: Last-Event-ID is not an event id of this server');
      if (parsed.streamId === STANDALONE_STREAM_ID) return await tailStandalone(request, sessionId, parsed.seq);
      return await resumeRequestStream(request, sessionId, parsed.streamId, parsed.seq);
    } catch (error) {
      if (error instanceof StoreUnavailableError) {
        logger.warn('session streams unavailable', { session: sessionTag(sessionId), error: errorName(error.cause) });
        return jsonRpcError(503, -32000, 'Session store temporarily unavailable; retry shortly', { 'retry-after': String(RETRY_AFTER_SECONDS) });
      }
      throw error;
    }
  };
}
