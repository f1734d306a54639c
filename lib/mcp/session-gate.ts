import { StoreUnavailableError, errorName } from '../errors.js';
import { RETRY_AFTER_SECONDS } from '../http/responses.js';
import { silentLogger, type Logger } from '../logger.js';
import { InvalidStartInputError, type SessionMetadata, type SessionStore } from '../session-store.js';

/** The session an MCP request belongs to, as the gate hands it to the MCP handler. */
export interface GateSession {
  sessionId: string;
  owner?: string;
  /** For MCP: the initialize params (protocolVersion, clientInfo, capabilities). */
  metadata?: SessionMetadata;
}

/**
 * The MCP handler behind the gate. `session` is undefined only for requests of protocol versions
 * without sessions (2026-07-28 and later), which the gate passes through untouched.
 */
export type McpHandler = (request: Request, session: GateSession | undefined) => Promise<Response>;

export interface SessionGateOptions {
  /** The library in-process, or SessionClient over the API. */
  store: SessionStore;
  /** The authenticated principal of a request, to bind sessions to; absent means unbound sessions. */
  ownerOf?: (request: Request) => string | undefined | Promise<string | undefined>;
  logger?: Logger;
  /** Larger POST bodies get 413 before anything is parsed or stored (default 4 MiB). */
  maxBodyBytes?: number;
}

export const SESSION_ID_HEADER = 'mcp-session-id';
export const PROTOCOL_VERSION_HEADER = 'mcp-protocol-version';
/** The first protocol version without sessions: it neither mints nor checks ids. */
export const SESSIONLESS_FROM_VERSION = '2026-07-28';

/**
 * Applies the Streamable HTTP session rules of the 2025 protocol versions in front of any MCP
 * handler, on Web-standard Request/Response, with sessions kept in a SessionStore so that any
 * instance can serve any request of a session.
 */
export function sessionGate(options: SessionGateOptions, handle: McpHandler): (request: Request) => Promise<Response> {
  const { store, ownerOf = () => undefined, logger = silentLogger, maxBodyBytes = 4 * 1024 * 1024 } = options;

  async function initialize(request: Request, params: unknown): Promise<Response> {
    const owner = await ownerOf(request);
    const metadata = initializeMetadata(params);
    const { sessionId } = await store.start({ ...(owner !== undefined ? { owner } : {}), metadata });
    const response = await handle(request, { sessionId, ...(owner !== undefined ? { owner } : {}), metadata });
    if (!response.ok) {
      // The handler refused the initialize: the session would never be used, so don't leave it behind.
      await store.destroy(sessionId, { owner }).catch(() => undefined);
      return response;
    }
    const headers = new Headers(response.headers);
    headers.set(SESSION_ID_HEADER, sessionId);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }

  async function continueSession(request: Request, sessionId: string): Promise<Response> {
    const owner = await ownerOf(request);
    if (request.method === 'DELETE') {
      await store.destroy(sessionId, { owner });
      return new Response(null, { status: 200 });
    }
    const status = await store.check(sessionId, { owner });
    if (!status.active) return jsonRpcError(404, -32001, 'Session not found');
    return handle(request, { sessionId, ...(owner !== undefined ? { owner } : {}), ...(status.metadata ? { metadata: status.metadata } : {}) });
  }

  return async (request) => {
    if (!usesSessions(request)) return handle(request, undefined);
    try {
      let message: unknown;
      if (request.method === 'POST') {
        const declared = Number(request.headers.get('content-length') ?? 0);
        const text = declared > maxBodyBytes ? undefined : await request.clone().text();
        if (text === undefined || Buffer.byteLength(text) > maxBodyBytes) return jsonRpcError(413, -32600, 'Request body too large');
        message = parseJson(text);
      }
      // An initialize always starts a fresh session, even when it carries a stale id.
      if (isInitializeRequest(message)) return await initialize(request, message.params);
      const sessionId = request.headers.get(SESSION_ID_HEADER);
      if (sessionId === null || sessionId === '') return jsonRpcError(400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      // A repeated header reaches us comma-joined; our ids never contain commas or spaces.
      if (/[,\s]/.test(sessionId)) return jsonRpcError(400, -32000, 'Bad Request: exactly one Mcp-Session-Id is allowed');
      return await continueSession(request, sessionId);
    } catch (error) {
      if (error instanceof StoreUnavailableError) {
        logger.warn('session store unavailable', { error: errorName(error.cause) });
        return jsonRpcError(503, -32000, 'Session store temporarily unavailable; retry shortly', { 'retry-after': String(RETRY_AFTER_SECONDS) });
      }
      if (error instanceof InvalidStartInputError) return jsonRpcError(400, -32602, `Invalid initialize params: ${error.message}`);
      throw error;
    }
  };
}

/** Sessions belong to the 2025 protocol versions; 2026-07-28 and later have none. */
function usesSessions(request: Request): boolean {
  const version = request.headers.get(PROTOCOL_VERSION_HEADER)?.trim();
  return !(version && /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= SESSIONLESS_FROM_VERSION);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined; // not JSON, or nested too deeply to parse: certainly not an initialize
  }
}

function isInitializeRequest(message: unknown): message is { method: 'initialize'; params: unknown } {
  return typeof message === 'object' && message !== null && !Array.isArray(message) && (message as { method?: unknown }).method === 'initialize' && 'id' in message;
}

/** What a later request on another instance needs to know of the client: its initialize params. */
function initializeMetadata(params: unknown): SessionMetadata {
  const { protocolVersion, clientInfo, capabilities } = (typeof params === 'object' && params !== null ? params : {}) as Record<string, unknown>;
  return { protocolVersion, clientInfo, capabilities };
}

function jsonRpcError(status: number, code: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}
