import { SessionApi, type ApiResponse, type SessionClientOptions, type Target } from './session-api.js';
import { routes } from './routes.js';
import { activeFrom, errorCodeOf, isInactiveBody, startedFrom } from './session-client-response.js';
import { isSessionId } from './session-id.js';
import {
  InvalidStateChangeError,
  isOwner,
  parseStartOptions,
  parseStateChange,
  type OwnerOption,
  type SessionStateChange,
  type SessionStatus,
  type SessionStore,
  type StartOptions,
  type StartedSession,
  type StateChangeProblem,
} from './session-store.js';

export { SessionServiceError, regionFromHost } from './session-api.js';
export type { SessionClientOptions, SessionClientSigning } from './session-api.js';
export { parseRetryAfter } from './session-client-response.js';

/**
 * The session service's HTTP API as a SessionStore, for MCP front ends. It never reports a live
 * session inactive because of a failure: only the service's own 404 `{"active": false}` means
 * inactive; anything it cannot resolve within its bounded retries (and the caller's signal) throws:
 * StoreUnavailableError for outages, SessionServiceError otherwise. Every call may be retried
 * (lib/session-api.ts, RetryPolicy `idempotent`).
 */
export class SessionClient implements SessionStore {
  private readonly api: SessionApi;

  constructor(options: SessionClientOptions) {
    this.api = new SessionApi(options, 'SessionClient');
  }

  async start(options: StartOptions = {}): Promise<StartedSession> {
    // In-process callers are not type-checked at run time either; only owner and metadata are sent.
    const input = parseStartOptions(options);
    const { target, response } = await this.api.request({ route: routes.start, body: JSON.stringify(input) }, options.signal);
    const started = response.status === 201 ? startedFrom(response.body) : undefined;
    if (!started) throw this.api.unexpected(target, response);
    return started;
  }

  async check(sessionId: string, options: OwnerOption = {}): Promise<SessionStatus> {
    // No session can be bound to an owner start would refuse, and such an owner cannot travel in a header.
    if (!isSessionId(sessionId) || !ownerSendable(options.owner)) return { active: false };
    const { target, response } = await this.api.request({ route: routes.check, parameters: { sessionId }, owner: options.owner }, options.signal);
    return this.status(target, response);
  }

  async destroy(sessionId: string, options: OwnerOption = {}): Promise<boolean> {
    if (!isSessionId(sessionId) || !ownerSendable(options.owner)) return false;
    const { target, response } = await this.api.request({ route: routes.destroy, parameters: { sessionId }, owner: options.owner }, options.signal);
    if (response.status === 204) return true;
    if (response.status === 404 && isInactiveBody(response.body)) return false;
    throw this.api.unexpected(target, response);
  }

  /**
   * PATCH /sessions/{sessionId}/state. The change is checked here first, exactly as the store checks
   * it (InvalidStateChangeError, no request); the service's own refusal (a full subscription set)
   * throws the same error. A retry after a lost answer is harmless: setting a level or adding or
   * removing a URI twice leaves what once does.
   */
  async updateState(sessionId: string, change: SessionStateChange, options: OwnerOption = {}): Promise<SessionStatus> {
    const parsed = parseStateChange(change);
    if (!isSessionId(sessionId) || !ownerSendable(options.owner)) return { active: false };
    const { target, response } = await this.api.request(
      { route: routes.updateState, parameters: { sessionId }, owner: options.owner, body: JSON.stringify(parsed) },
      options.signal,
    );
    const problem = response.status === 400 ? stateChangeProblem(errorCodeOf(response.headers, response.body)) : undefined;
    if (problem) throw new InvalidStateChangeError(problem, serviceMessage(response.body, problem));
    return this.status(target, response);
  }

  /** A check's (or updateState's) answer: the session, or the service's own "no such session". */
  private status(target: Target, response: ApiResponse): SessionStatus {
    if (response.status === 404 && isInactiveBody(response.body)) return { active: false };
    const active = response.status === 200 ? activeFrom(response.body) : undefined;
    if (!active) throw this.api.unexpected(target, response);
    return active;
  }
}

/** The owner header a request can carry; see check. */
const ownerSendable = (owner: string | undefined): boolean => owner === undefined || isOwner(owner);

const STATE_CHANGE_PROBLEMS: readonly StateChangeProblem[] = ['invalid_change', 'invalid_log_level', 'invalid_uri', 'uri_too_long', 'too_many_subscriptions'];

const stateChangeProblem = (code: string | undefined): StateChangeProblem | undefined => STATE_CHANGE_PROBLEMS.find((problem) => problem === code);

/** The service's sentence for a refusal (short, without its final full stop), or the code. */
export function serviceMessage(body: unknown, code: string): string {
  const message = typeof body === 'object' && body !== null && 'message' in body ? body.message : undefined;
  return typeof message === 'string' && message.length <= 300 ? message.replace(/\.$/, '') : code;
}
