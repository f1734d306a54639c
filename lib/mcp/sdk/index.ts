/**
 * `mcp-sessions/mcp/sdk`: the layer bound to the official MCP SDK (`@modelcontextprotocol/sdk`, a
 * peer dependency) that makes an SDK server built per request behave as one session across many
 * stateless instances. `sharedSessionHandler` is the whole of it, as a handler for `sessionGate`;
 * its parts are exported for servers that wire the SDK themselves:
 *
 * - `SessionEventStore`: the SDK transport's `eventStore`, storing a POST's SSE events only once
 *   the stream detaches (client gone, or closed for polling), with a header and heartbeats;
 * - `SessionTransport` and `ServerRequestRelay`: server->client requests answered on any instance;
 *   log level and subscription filters from the session's stored state;
 * - `registerSessionStateHandlers`: setLevel / subscribe / unsubscribe kept in the session store;
 * - `sessionStreamServer`: GETs served from the store (resumption by Last-Event-ID on any
 *   instance, the standalone stream);
 * - `publishNotification`: a notification to a session from outside any request.
 */
export { sharedSessionHandler, DEFAULT_RETRY_INTERVAL_MS } from './shared-session-handler.js';
export type { CreateServerContext, SharedGateSession, SharedSessionHandler, SharedSessionHandlerOptions } from './shared-session-handler.js';
export { SessionEventStore, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_BUFFERED_EVENTS } from './session-event-store.js';
export type { SessionEventStoreOptions } from './session-event-store.js';
export { SessionTransport, DEFAULT_RELAY_TIMEOUT_MS } from './session-transport.js';
export type { SessionTransportOptions } from './session-transport.js';
export { ServerRequestRelay, RelayTimeoutError, DEFAULT_RELAY_POLL_MAX_MS, DEFAULT_RELAY_POLL_MIN_MS } from './server-request-relay.js';
export type { RelayAnswer, ServerRequestRelayOptions } from './server-request-relay.js';
export { registerSessionStateHandlers } from './session-state-handlers.js';
export type { SessionStateHandlersOptions } from './session-state-handlers.js';
export {
  sessionStreamServer,
  DEFAULT_MAX_STREAM_MS,
  DEFAULT_STREAM_POLL_MAX_MS,
  DEFAULT_STREAM_POLL_MIN_MS,
  WRITER_GONE_ERROR,
} from './session-stream-server.js';
export type { SessionStreamServerOptions } from './session-stream-server.js';
export { publishNotification } from './publish.js';
export { DEFAULT_KEEP_ALIVE_MS } from './sse-stream.js';
export {
  RELAY_ID_PREFIX,
  STANDALONE_STREAM_ID,
  formatEventId,
  parseEventId,
  isRelayId,
  isStreamMarker,
} from './stream-events.js';
export type { StreamHeader, StreamHeartbeat, StreamMarker } from './stream-events.js';
