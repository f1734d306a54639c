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
import {
  STANDALONE_STREAM_ID,
  asStreamHeader,
  formatEventId,
  isStreamMarker,
  parseEventId,
  requestKey,
  responseId,
  type ParsedEventId,
  type StreamHeader,
} from './stream-events.js';
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
 * - with `Last-Event-ID` of a POST stream (`<uuid>.<requestIds>.<seq>`): replays the stored events
 *   after it, then polls for more until the response to each of the stream's requests was sent,
 *   and ends. A stream whose responses were all sent already gets 204 (an EventSource stops
 *   reconnecting). When nothing new - not even the writer's heartbeat - arrives for the liveness
 *   timeout, the writer is taken for gone: each pending request gets a JSON-RPC error (stored, so
 *   a later resume sees the stream complete), and the stream ends. A stream with nothing stored
 *   yet is waited for (before answering) for the liveness timeout: still nothing, its writer died
 *   before storing any of it (its client was attached), and the requests the id names get that
 *   error likewise, after a header naming them; an id naming none (`<uuid>.<seq>`) gets 204.
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

  async function resumeRequestStream(request: Request, sessionId: string, { streamId, seq: cursor, requestIds }: ParsedEventId): Promise<Response> {
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
    if (stored.length === 0) {
      return requestIds === undefined ? new Response(null, { status: 204 }) : neverStored(request, sessionId, streamId, requestIds, cursor);
    }

    const header = asStreamHeader(stored[0]?.message);
    // The writer's ids, in the ids of what is sent: the client's next Last-Event-ID names them too.
    const ids = header?.requestIds ?? requestIds;
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
          sse.event(formatEventId(streamId, seq, ids), message);
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
          if (header === undefined) return;
          logger.warn('resumed stream: its writer went silent; answering its requests with an error', { session: sessionTag(sessionId), requests: pending.size });
          await writerGone(sse, sessionId, streamId, [...pending.values()], header.requestIds, lastSeq, stop);
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

  /**
   * Nothing of the stream was stored within the liveness timeout: its writer died with the client
   * attached (it stores only once detached). The requests the client's event id names get the
   * writer-gone error, stored after a header naming them (seq 1, the priming event's place), so a
   * later resume finds the stream complete. A forged id can only make this session's own streams
   * answer its own client, for at most EVENT_ID_REQUEST_IDS_MAX ids.
   */
  function neverStored(request: Request, sessionId: string, streamId: string, requestIds: JsonRpcId[], cursor: number): Response {
    const sse = newSse();
    if (options.retryIntervalMs !== undefined) sse.retry(options.retryIntervalMs);
    return run(sse, request, sessionId, async (stop) => {
      const ids = [...new Map(requestIds.map((id) => [requestKey(id), id])).values()];
      const header: StreamHeader = { mcpSessions: 'stream', requestIds: ids, at: clock() };
      let seq: number | undefined;
      try {
        seq = await storeCall('append', deadlineMs, stop, (signal) => streams.append(sessionId, streamId, header, { signal }));
      } catch (error) {
        logger.warn('writer-gone header not stored', { session: sessionTag(sessionId), error: errorName(error) });
      }
      // Its writer stored the stream after all (it saw its client go only now): the client's
      // reconnect resumes it; this header, past seq 1, is only a marker there.
      if (seq !== undefined && seq !== 1) return;
      logger.warn('resumed stream: nothing stored by its writer; answering its requests with an error', { session: sessionTag(sessionId), requests: ids.length });
      // Errors without their header would read as a stream of unknown requests: then only sent.
      await writerGone(sse, sessionId, streamId, ids, ids, cursor, stop, seq !== undefined);
    });
  }

  /** Stores (and sends) an error for each request whose writer went silent; sent even if it cannot be stored. */
  async function writerGone(
    sse: SseStream,
    sessionId: string,
    streamId: string,
    pending: JsonRpcId[],
    streamIds: readonly JsonRpcId[],
    lastSeq: number,
    stop: AbortSignal,
    store = true,
  ): Promise<void> {
    for (const id of pending) {
      const message = { jsonrpc: '2.0', id, error: WRITER_GONE_ERROR };
      let seq: number | undefined;
      if (store) {
        try {
          seq = await storeCall('append', deadlineMs, stop, (signal) => streams.append(sessionId, streamId, message, { signal }));
        } catch (error) {
          logger.warn('writer-gone error not stored', { session: sessionTag(sessionId), error: errorName(error) });
        }
      }
      // Unstored, it still needs an id: the last one sent keeps the client's cursor where it was.
      sse.event(formatEventId(streamId, seq ?? lastSeq, streamIds), message);
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
      return await resumeRequestStream(request, sessionId, parsed);
    } catch (error) {
      if (error instanceof StoreUnavailableError) {
        logger.warn('session streams unavailable', { session: sessionTag(sessionId), error: errorName(error.cause) });
        return jsonRpcError(503, -32000, 'Session store temporarily unavailable; retry shortly', { 'retry-after': String(RETRY_AFTER_SECONDS) });
      }
      throw error;
    }
  };
}
