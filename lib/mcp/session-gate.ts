import { DEADLINE_BUDGET, deadlineSignal, sessionClientWorstCaseMs } from '../deadline-budget.js';
import { StoreUnavailableError, errorName } from '../errors.js';
import { RETRY_AFTER_SECONDS } from '../routes.js';
import { silentLogger, type Logger } from '../logger.js';
import { InvalidStartInputError, parseStartOptions, type SessionMetadata, type SessionState, type SessionStore } from '../session-store.js';
import { SessionServiceError } from '../session-client.js';
import { storeCallWithin } from './call-deadline.js';
import { readRequestText } from './request-body.js';
import { hostRefusedResponse, hostValidator, type HostValidationOptions } from './host-validation.js';
import { readInitializeAnswer, withHeader } from './initialize-answer.js';
import { asInitializeRequest, isBatchWithInitialize, jsonRpcError, parseJson, type InitializeRequest } from './json-rpc.js';
import { ownerForPrincipal } from './principal-owner.js';
import { SESSION_PROTOCOL_VERSIONS, checkVersionPolicy, requestVersion } from './protocol-versions.js';

export { SESSION_PROTOCOL_VERSIONS, PROTOCOL_VERSION_HEADER } from './protocol-versions.js';
export { ownerForPrincipal } from './principal-owner.js';

/** A live session, as the gate hands it to the MCP handler. */
export interface GateSession {
  sessionId: string;
  /** Stored at initialize: the negotiated protocolVersion, and the client's clientInfo and capabilities. */
  metadata?: SessionMetadata;
  /** What changed during the session (log level, subscriptions), as the gate's check read it; absent until set. */
  state?: SessionState;
}

export interface GateContext {
  /**
   * The request's JSON body, already read (within the cap) and parsed: the request's own body is
   * consumed, so pass this on, e.g. `transport.handleRequest(request, { parsedBody })`.
   * Undefined for requests without a body (GET, DELETE).
   */
  parsedBody: unknown;
  /** The principal `principalOf` found, if any. */
  principal?: string;
  /** The request's session; absent on an initialize (it has none yet) and on sessionless versions. */
  session?: GateSession;
}

export type McpHandler = (request: Request, context: GateContext) => Promise<Response>;

/**
 * `allowedHosts` / `allowedOrigins`: DNS-rebinding protection, checked before anything else (see
 * host-validation.ts). The default allows only localhost, 127.0.0.1 and [::1], on any port.
 */
export interface SessionGateOptions extends HostValidationOptions {
  /** The library in-process, or SessionClient over the API. */
  store: SessionStore;
  /**
   * The authenticated principal of a request (any string; an empty one counts as none). Sessions
   * are bound to a digest of it (`ownerForPrincipal`), so only the same principal can use them.
   */
  principalOf?: (request: Request) => string | undefined | Promise<string | undefined>;
  /** Refuse an initialize without a principal (401) before anything is stored. */
  requireOwner?: boolean;
  /**
   * Protocol versions without sessions to pass through to the handler untouched, e.g.
   * `['2026-07-28']`. Default none: every other version but the session ones gets 400.
   */
  sessionlessVersions?: readonly string[];
  /** Versions the gate keeps sessions for (default 2025-11-25, 2025-06-18, 2025-03-26). */
  sessionVersions?: readonly string[];
  /** Told after a DELETE ended a live session, so the MCP server can let go of anything it holds. */
  onSessionEnded?: (ended: { sessionId: string; principal?: string }) => void | Promise<void>;
  logger?: Logger;
  /** Larger POST bodies get 413, having read at most this much (default 4 MiB, as the SDK). */
  maxBodyBytes?: number;
  /**
   * How long a store call may take before the gate answers 503 (default: SessionClient's worst
   * case, so its own retries finish first). A client that goes away ends the wait sooner.
   */
  storeDeadlineMs?: number;
}

export const SESSION_ID_HEADER = 'mcp-session-id';
/** Log message for a store outage, so a front end can point its operator at the service. */
export const STORE_UNAVAILABLE_LOG = 'session store unavailable';

/** The most of an initialize answer read to find the negotiated version (an InitializeResult is small). */
const MAX_INITIALIZE_ANSWER_BYTES = 1024 * 1024;

const storeUnavailable = () =>
  jsonRpcError(503, -32000, 'Session store temporarily unavailable; retry shortly', { 'retry-after': String(RETRY_AFTER_SECONDS) });
const sessionNotFound = () => jsonRpcError(404, -32001, 'Session not found');

/**
 * Applies the Streamable HTTP session rules of the 2025 protocol versions in front of any MCP
 * handler, on Web-standard Request/Response, with sessions kept in a SessionStore so that any
 * instance can serve any request of a session.
 */
export function sessionGate(options: SessionGateOptions, handle: McpHandler): (request: Request) => Promise<Response> {
  const {
    store,
    principalOf = () => undefined,
    requireOwner = false,
    onSessionEnded,
    logger = silentLogger,
    maxBodyBytes = 4 * 1024 * 1024,
    storeDeadlineMs = sessionClientWorstCaseMs(),
  } = options;
  const refusedHost = hostValidator(options);
  const policy = checkVersionPolicy({
    sessionVersions: options.sessionVersions ?? SESSION_PROTOCOL_VERSIONS,
    sessionlessVersions: options.sessionlessVersions ?? [],
  });
  const longestSessionVersion = policy.sessionVersions.reduce((longest, v) => (v.length > longest.length ? v : longest), '');
  const unsupportedVersion = () =>
    jsonRpcError(400, -32000, `Bad Request: Unsupported protocol version (supported versions: ${[...policy.sessionVersions, ...policy.sessionlessVersions].join(', ')})`);

  const principalFor = async (request: Request): Promise<string | undefined> => {
    const principal = await principalOf(request);
    return principal === undefined || principal === '' ? undefined : principal;
  };
  const ownerOption = (principal: string | undefined) => (principal === undefined ? {} : { owner: ownerForPrincipal(principal) });
  const principalField = (principal: string | undefined) => (principal === undefined ? {} : { principal });
  /** Each store call gets its own deadline, which a client that hangs up ends sooner, let go once the call settles. */
  const storeCall = <T>(request: Request, operation: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> =>
    storeCallWithin(operation, storeDeadlineMs, request.signal, call);

  /** The handler's failures are its own: logged by name, answered as a JSON-RPC internal error. */
  async function callHandler(request: Request, context: GateContext): Promise<Response> {
    try {
      return await handle(request, context);
    } catch (error) {
      logger.error('MCP handler failed', { error: errorName(error) });
      return jsonRpcError(500, -32603, 'Internal error');
    }
  }

  /**
   * The handler answers first, with no session yet; only a successful InitializeResult starts one,
   * with the version the server negotiated. A refused or failed initialize stores nothing.
   */
  async function initialize(request: Request, message: InitializeRequest, parsedBody: unknown): Promise<Response> {
    const principal = await principalFor(request);
    if (requireOwner && principal === undefined) return jsonRpcError(401, -32000, 'Unauthorized: initialize requires an authenticated principal');
    const { clientInfo, capabilities } = message.params;
    // Checked before the handler runs, with the longest version it could negotiate, so an initialize
    // whose session could not be stored never reaches it.
    parseStartOptions({ metadata: { protocolVersion: longestSessionVersion, clientInfo, capabilities } });

    const handled = await callHandler(request, { parsedBody, ...principalField(principal) });
    const answerDeadline = deadlineSignal(DEADLINE_BUDGET.initializeAnswerMs, request.signal);
    let answer: Awaited<ReturnType<typeof readInitializeAnswer>>;
    try {
      answer = await readInitializeAnswer(handled, message.id, MAX_INITIALIZE_ANSWER_BYTES, answerDeadline);
    } catch (error) {
      if (!answerDeadline.aborted) throw error;
      logger.warn('MCP handler did not answer initialize in time', {});
      return jsonRpcError(504, -32603, 'Internal error: the server did not answer initialize in time');
    }
    if (!answer.response.ok || answer.reply === undefined || 'error' in answer.reply) {
      if (answer.response.ok && answer.reply === undefined) logger.warn('MCP handler answered initialize with no readable JSON-RPC response', {});
      return answer.response; // passed on as it came, with no session id
    }
    const protocolVersion = answer.reply.result.protocolVersion;
    if (typeof protocolVersion !== 'string' || !policy.sessionVersions.includes(protocolVersion)) {
      await answer.response.body?.cancel();
      logger.warn('MCP handler negotiated a protocol version the gate keeps no sessions for', {});
      return jsonRpcError(400, -32602, `Unsupported protocol version (supported versions: ${policy.sessionVersions.join(', ')})`);
    }
    try {
      const metadata = { protocolVersion, clientInfo, capabilities };
      const { sessionId } = await storeCall(request, 'start', (signal) => store.start({ ...ownerOption(principal), metadata, signal }));
      return withHeader(answer.response, SESSION_ID_HEADER, sessionId);
    } catch (error) {
      await answer.response.body?.cancel();
      throw error;
    }
  }

  async function terminate(request: Request, sessionId: string): Promise<Response> {
    const principal = await principalFor(request);
    const ended = await storeCall(request, 'destroy', (signal) => store.destroy(sessionId, { ...ownerOption(principal), signal }));
    if (!ended) return sessionNotFound();
    try {
      await onSessionEnded?.({ sessionId, ...principalField(principal) });
    } catch (error) {
      logger.error('onSessionEnded failed', { error: errorName(error) }); // the session has ended all the same
    }
    return new Response(null, { status: 200 });
  }

  async function continueSession(request: Request, sessionId: string, version: string | undefined, parsedBody: unknown): Promise<Response> {
    const principal = await principalFor(request);
    const status = await storeCall(request, 'check', (signal) => store.check(sessionId, { ...ownerOption(principal), signal }));
    if (!status.active) return sessionNotFound();
    const negotiated = status.metadata?.protocolVersion;
    if (version !== undefined && typeof negotiated === 'string' && version !== negotiated) {
      return jsonRpcError(400, -32000, 'Bad Request: MCP-Protocol-Version does not match the version negotiated for this session');
    }
    const session: GateSession = { sessionId, ...(status.metadata ? { metadata: status.metadata } : {}), ...(status.state ? { state: status.state } : {}) };
    return callHandler(request, { parsedBody, ...principalField(principal), session });
  }

  return async (request) => {
    // First: a rebound page gets nothing read, parsed or looked up on its behalf.
    const refusal = refusedHost(request);
    if (refusal !== undefined) {
      logger.warn('request refused: Host or Origin not allowed', { header: refusal.header, ...(refusal.host === undefined ? {} : { host: refusal.host }) });
      return hostRefusedResponse(refusal);
    }
    const version = requestVersion(request, policy);
    if (version.kind === 'unsupported') return unsupportedVersion();

    let parsedBody: unknown;
    if (request.method === 'POST') {
      const body = await readRequestText(request, maxBodyBytes);
      if (body.tooLarge) return jsonRpcError(413, -32000, `Payload Too Large: Request body must not exceed ${maxBodyBytes} bytes`);
      const parsed = parseJson(body.text);
      if (!parsed.ok) return jsonRpcError(400, -32700, 'Parse error: Invalid JSON');
      parsedBody = parsed.value;
    }
    try {
      if (version.kind === 'sessionless') return callHandler(request, { parsedBody, ...principalField(await principalFor(request)) });
      if (isBatchWithInitialize(parsedBody)) return jsonRpcError(400, -32600, 'Invalid Request: initialize must be sent alone, not in a batch');
      // An initialize always starts a fresh session, even when it carries a stale id.
      const initializeMessage = asInitializeRequest(parsedBody);
      if (initializeMessage !== undefined) return await initialize(request, initializeMessage, parsedBody);
      const sessionId = request.headers.get(SESSION_ID_HEADER);
      if (sessionId === null || sessionId === '') return jsonRpcError(400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      // A repeated header reaches us comma-joined; our ids never contain commas or spaces.
      if (/[,\s]/.test(sessionId)) return jsonRpcError(400, -32000, 'Bad Request: exactly one Mcp-Session-Id is allowed');
      if (request.method === 'DELETE') return await terminate(request, sessionId);
      return await continueSession(request, sessionId, version.version, parsedBody);
    } catch (error) {
      if (error instanceof StoreUnavailableError) {
        logger.warn(STORE_UNAVAILABLE_LOG, { error: errorName(error.cause) });
        return storeUnavailable();
      }
      if (error instanceof InvalidStartInputError) return jsonRpcError(400, -32602, `Invalid initialize params: ${error.message}`);
      // Anything else (a service answering 403 because the role was never granted invoke,
      // principalOf throwing) is still a JSON-RPC answer, and is logged for the operator.
      logger.error('session gate failed', {
        error: errorName(error),
        ...(error instanceof SessionServiceError ? { status: error.status, ...(error.code !== undefined ? { code: error.code } : {}) } : {}),
      });
      return jsonRpcError(500, -32603, 'Internal error');
    }
  };
}
