import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { JSONRPCMessageSchema, isJSONRPCNotification, isJSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { systemClock, type Clock } from '../../clock.js';
import { sessionClientWorstCaseMs } from '../../deadline-budget.js';
import { StoreUnavailableError, errorName } from '../../errors.js';
import { silentLogger, type Logger } from '../../logger.js';
import { RETRY_AFTER_SECONDS } from '../../routes.js';
import { sessionTag } from '../../session-id.js';
import type { SessionStore } from '../../session-store.js';
import { InvalidStreamInputError, type SessionStreams } from '../../session-streams.js';
import { jsonRpcError, type JsonRpcId } from '../json-rpc.js';
import type { GateContext, GateSession, McpHandler } from '../session-gate.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, SessionEventStore } from './session-event-store.js';
import { registerSessionStateHandlers } from './session-state-handlers.js';
import { sessionStreamServer } from './session-stream-server.js';
import { DEFAULT_RELAY_TIMEOUT_MS, SessionTransport } from './session-transport.js';
import { ServerRequestRelay, type RelayAnswer } from './server-request-relay.js';
import { isRelayId, requestKey, responseId } from './stream-events.js';
import { watchBody } from './watched-body.js';

/** The SSE `retry` hint (ms): how soon a client reconnects to a stream closed for polling. */
export const DEFAULT_RETRY_INTERVAL_MS = 1000;

/** A session as the gate hands it over, with the state its check returned. */
export type SharedGateSession = GateSession;

export interface CreateServerContext {
  /** The request's principal, if the gate found one. */
  principal?: string;
  request: Request;
}

export interface SharedSessionHandlerOptions {
  /** For the state the client sets (log level, subscriptions): `updateState`. */
  store: SessionStore;
  /** The session's streams: stored SSE events, the standalone stream, relayed answers. */
  streams: SessionStreams;
  /**
   * Builds the MCP server for one request (an McpServer, or a low-level Server). `session` is
   * absent on an initialize and for sessionless protocol versions. Declare `logging` and
   * `resources.subscribe` in its capabilities to have setLevel and subscriptions kept per session.
   */
  createServer: (session: SharedGateSession | undefined, context: CreateServerContext) => McpServer | Server;
  /** Names this instance in stored stream headers and heartbeats. */
  instanceId?: string;
  /** How long a server->client request waits for its answer (default 60 s, the SDK's request timeout). */
  relayTimeoutMs?: number;
  /** SSE `retry` hint sent with every stream (default 1000 ms). */
  retryIntervalMs?: number;
  /** Heartbeat of a detached stream whose work still runs (default 5 s); resumers give up after 3 silent intervals. */
  heartbeatIntervalMs?: number;
  /** Override of the resumers' liveness timeout (default 3 heartbeat intervals). */
  livenessTimeoutMs?: number;
  /** Relay polls: first after `min` (default 50 ms), doubling to `max` (default 1 s). */
  relayPollMs?: { min?: number; max?: number };
  /** Served GET streams' polls: after progress `min` (default 100 ms), doubling to `max` (default 1 s, the idle rate). */
  streamPollMs?: { min?: number; max?: number };
  /** A served GET stream ends after this long (default 5 min); the client reconnects from its Last-Event-ID. */
  maxStreamMs?: number;
  /** SSE keep-alive comment interval on every stream (default 15 s, as the SDK). */
  keepAliveMs?: number;
  /** Each store call's deadline (default: SessionClient's worst case, as the gate). */
  storeDeadlineMs?: number;
  logger?: Logger;
  clock?: Clock;
}

/** The handler, and `close()` to stop everything in flight (heartbeats, relays, served streams, servers). */
export type SharedSessionHandler = McpHandler & { close(): Promise<void> };

type SdkServer = McpServer | Server;
const lowLevel = (server: SdkServer): Server => ('server' in server ? server.server : server);

const mediaType = (header: string | null): string => (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

/** The SDK transport's checks of a POST, for the POSTs answered without one. */
function refusedPost(request: Request): Response | undefined {
  const accept = request.headers.get('accept') ?? '';
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
    return jsonRpcError(406, -32000, 'Not Acceptable: Client must accept both application/json and text/event-stream');
  }
  if (mediaType(request.headers.get('content-type')) !== 'application/json') {
    return jsonRpcError(415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
  }
  return undefined;
}

const storeUnavailable = () =>
  jsonRpcError(503, -32000, 'Session store temporarily unavailable; retry shortly', { 'retry-after': String(RETRY_AFTER_SECONDS) });

/**
 * The MCP handler (for `sessionGate`) that makes an SDK server built per request behave as one
 * session across any number of stateless instances, with everything shared in the session store
 * and streams:
 *
 * - a POST with requests gets a fresh server (`createServer`) and a fresh stateless SDK transport
 *   in SSE mode, whose events are stored only if the stream detaches (SessionEventStore), whose
 *   server->client requests are relayed (ServerRequestRelay), and whose log messages and resource
 *   updates follow the session's stored state (SessionTransport); setLevel and subscribe persist;
 * - a POST of only responses and notifications is 202: answers to relayed requests go to their
 *   waiter (in memory here, else through the store); a cancellation reaches a request running in
 *   this process (one running on another instance is not reached);
 * - a GET is served from the store by `sessionStreamServer` (resumption, standalone stream).
 */
export function sharedSessionHandler(options: SharedSessionHandlerOptions): SharedSessionHandler {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const storeDeadlineMs = options.storeDeadlineMs ?? sessionClientWorstCaseMs();
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const retryIntervalMs = options.retryIntervalMs ?? DEFAULT_RETRY_INTERVAL_MS;
  const closing = new AbortController();
  const relay = new ServerRequestRelay({
    streams: options.streams,
    logger,
    storeDeadlineMs,
    ...(options.relayPollMs?.min === undefined ? {} : { pollMinMs: options.relayPollMs.min }),
    ...(options.relayPollMs?.max === undefined ? {} : { pollMaxMs: options.relayPollMs.max }),
  });
  const serveStream = sessionStreamServer({
    streams: options.streams,
    logger,
    clock,
    storeDeadlineMs,
    heartbeatIntervalMs,
    retryIntervalMs,
    signal: closing.signal,
    ...(options.livenessTimeoutMs === undefined ? {} : { livenessTimeoutMs: options.livenessTimeoutMs }),
    ...(options.streamPollMs?.min === undefined ? {} : { pollMinMs: options.streamPollMs.min }),
    ...(options.streamPollMs?.max === undefined ? {} : { pollMaxMs: options.streamPollMs.max }),
    ...(options.maxStreamMs === undefined ? {} : { maxStreamMs: options.maxStreamMs }),
    ...(options.keepAliveMs === undefined ? {} : { keepAliveMs: options.keepAliveMs }),
  });
  /** Servers with work in flight, to close on `close()`. */
  const live = new Set<SdkServer>();
  /** Requests running here, by session and request id: where a cancellation POSTed here goes. */
  const running = new Map<string, SessionTransport>();
  const runningKey = (sessionId: string, id: JsonRpcId) => `${sessionId}\n${requestKey(id)}`;
  const keepAlive = options.keepAliveMs === undefined ? {} : { keepAliveMs: options.keepAliveMs };

  const release = (server: SdkServer) => {
    if (!live.delete(server)) return;
    server.close().catch((error: unknown) => logger.warn('closing a per-request server failed', { error: errorName(error) }));
  };

  /** Initialize and sessionless requests: the server as the SDK runs it statelessly, nothing shared. */
  async function unshared(request: Request, context: GateContext): Promise<Response> {
    const server = options.createServer(undefined, { request, ...(context.principal === undefined ? {} : { principal: context.principal }) });
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, ...keepAlive });
    live.add(server);
    await server.connect(transport);
    const response = await transport.handleRequest(request, { parsedBody: context.parsedBody });
    return watchBody(response, { ended: () => release(server), clientGone: () => release(server) });
  }

  /** POSTed responses to relayed requests; the rest of the body is returned. */
  async function takeRelayAnswers(sessionId: string, messages: unknown[], signal: AbortSignal): Promise<unknown[]> {
    const rest: unknown[] = [];
    for (const message of messages) {
      const id = responseId(message);
      if (id === undefined || !isRelayId(id)) rest.push(message);
      else await relay.deliver(sessionId, message as RelayAnswer, { signal });
    }
    return rest;
  }

  /** A POST with no requests: 202, after cancellations reached what they cancel here. */
  function acknowledge(sessionId: string, messages: unknown[]): Response {
    for (const message of messages) {
      if (!isJSONRPCNotification(message) || message.method !== 'notifications/cancelled') continue;
      const requestId = (message.params as { requestId?: unknown } | undefined)?.requestId;
      if (typeof requestId !== 'string' && typeof requestId !== 'number') continue;
      running.get(runningKey(sessionId, requestId))?.receive(message);
    }
    return new Response(null, { status: 202 });
  }

  async function runRequests(request: Request, session: SharedGateSession, principal: string | undefined, parsedBody: unknown, requestIds: JsonRpcId[]): Promise<Response> {
    const { sessionId } = session;
    const server = options.createServer(session, { request, ...(principal === undefined ? {} : { principal }) });
    const eventStore = new SessionEventStore({
      streams: options.streams,
      sessionId,
      requestIds,
      clock,
      logger,
      storeDeadlineMs,
      heartbeatIntervalMs,
      signal: closing.signal,
      ...(options.instanceId === undefined ? {} : { instanceId: options.instanceId }),
    });
    const inner = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, eventStore, retryInterval: retryIntervalMs, ...keepAlive });
    const forget = () => {
      for (const id of requestIds) if (running.get(runningKey(sessionId, id)) === transport) running.delete(runningKey(sessionId, id));
    };
    const transport: SessionTransport = new SessionTransport(inner, {
      sessionId,
      relay,
      relayTimeoutMs: options.relayTimeoutMs ?? DEFAULT_RELAY_TIMEOUT_MS,
      requestIds,
      logger,
      ...(session.state === undefined ? {} : { state: session.state }),
      onRequestsDone: () => {
        eventStore.finish();
        forget();
        release(server);
      },
    });
    registerSessionStateHandlers(lowLevel(server), {
      store: options.store,
      sessionId,
      storeDeadlineMs,
      logger,
      onStateChanged: (state) => transport.updateState(state),
      ...(principal === undefined ? {} : { principal }),
    });
    live.add(server);
    await server.connect(transport);
    if (session.metadata !== undefined) await transport.restoreInitialize(session.metadata);
    for (const id of requestIds) running.set(runningKey(sessionId, id), transport);

    let response: Response;
    try {
      response = await inner.handleRequest(request, { parsedBody });
    } catch (error) {
      forget();
      release(server);
      throw error;
    }
    if (!mediaType(response.headers.get('content-type')).startsWith('text/event-stream')) {
      forget();
      release(server);
      return response;
    }
    return watchBody(
      response,
      {
        // The SDK closed the stream: the end of its requests, or closed early for polling, when
        // what was buffered is stored before the client can come back for it.
        ended: async () => {
          if (transport.allAnswered) eventStore.discard();
          else await eventStore.detach();
        },
        clientGone: () => void eventStore.detach(),
      },
      request.signal,
    );
  }

  async function post(request: Request, session: SharedGateSession, context: GateContext): Promise<Response> {
    const batch = Array.isArray(context.parsedBody);
    const messages: unknown[] = batch ? (context.parsedBody as unknown[]) : [context.parsedBody];
    const requests = messages.filter(isJSONRPCRequest);
    if (requests.length === 0 || messages.some((message) => isRelayId(responseId(message)))) {
      const refusal = refusedPost(request);
      if (refusal !== undefined) return refusal;
      if (!messages.every((message) => JSONRPCMessageSchema.safeParse(message).success)) {
        return jsonRpcError(400, -32700, 'Parse error: Invalid JSON-RPC message');
      }
    }
    let rest: unknown[];
    try {
      rest = await takeRelayAnswers(session.sessionId, messages, request.signal);
    } catch (error) {
      // Too large for a stream message (256 KiB): the waiting request will time out.
      if (error instanceof InvalidStreamInputError) return jsonRpcError(400, -32600, `Invalid Request: ${error.message}`);
      if (!(error instanceof StoreUnavailableError)) throw error;
      logger.warn('relayed answer not stored: store unavailable', { session: sessionTag(session.sessionId), error: errorName(error.cause) });
      return storeUnavailable();
    }
    if (requests.length === 0) return acknowledge(session.sessionId, rest);
    return runRequests(
      request,
      session,
      context.principal,
      batch ? rest : rest[0],
      requests.map((message) => message.id),
    );
  }

  const handler = async (request: Request, context: GateContext): Promise<Response> => {
    if (closing.signal.aborted) return jsonRpcError(503, -32000, 'Server shutting down; retry shortly', { 'retry-after': String(RETRY_AFTER_SECONDS) });
    const session = context.session as SharedGateSession | undefined;
    if (request.method === 'POST') return session === undefined ? unshared(request, context) : post(request, session, context);
    if (request.method === 'GET' && session !== undefined) return serveStream(request, session.sessionId);
    return jsonRpcError(405, -32000, 'Method not allowed.', { allow: session === undefined ? 'POST' : 'GET, POST, DELETE' });
  };

  return Object.assign(handler, {
    async close(): Promise<void> {
      closing.abort();
      relay.close();
      await Promise.all([...live].map((server) => server.close().catch(() => undefined)));
      live.clear();
      running.clear();
    },
  });
}
