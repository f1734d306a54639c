/** A small JSON object stored with a session (for MCP: the initialize params). */
export type SessionMetadata = Record<string, unknown>;

/** What every store call accepts besides its input. */
export interface CallOptions {
  /**
   * The caller's deadline: the call gives up (StoreUnavailableError) when it aborts. A handler
   * passes one signal to every store call of an invocation, so they share one deadline.
   */
  signal?: AbortSignal;
}

export interface StartOptions extends CallOptions {
  /** The authenticated principal the front end saw; later checks and destroys must present the same. */
  owner?: string;
  /** Stored once with the session, returned by every check, never changed. */
  metadata?: SessionMetadata;
}

export interface OwnerOption extends CallOptions {
  /** The caller's principal; must equal the owner the session was started with (or both absent). */
  owner?: string;
}

/**
 * What every session store offers: the DynamoDB store in-process, and SessionClient over the HTTP
 * API. Both throw on failure rather than report a session inactive, so an outage is never mistaken
 * for an ended session.
 */
export interface SessionStore {
  /** Mints and stores a new session. Throws if it could not be stored. */
  start(options?: StartOptions): Promise<StartedSession>;
  /**
   * Active or not, sliding the expiry when it is past half its TTL. Malformed ids, and ids presented
   * with the wrong owner, are inactive - indistinguishable from unknown ones.
   */
  check(sessionId: string, options?: OwnerOption): Promise<SessionStatus>;
  /**
   * Ends the session. True when a live session of this owner was ended; false when there was none
   * to end (unknown, expired, already ended, or someone else's - which is left untouched).
   */
  destroy(sessionId: string, options?: OwnerOption): Promise<boolean>;
  /**
   * Changes one value of the session's state with a conditional update (the session must be live
   * and this owner's; the slide rules of `check` are not applied). The new state when it changed,
   * `{ active: false }` when there was no such session. Invalid changes throw InvalidStateChangeError.
   */
  updateState(sessionId: string, change: SessionStateChange, options?: OwnerOption): Promise<SessionStatus>;
}

/** MCP logging levels (RFC 5424 severities), lowest first. */
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * What changes during a session and every instance must see: returned by every `check`, so
 * reading it costs nothing beyond the check the gate makes anyway.
 */
export interface SessionState {
  /** Set by the client's `logging/setLevel`; absent until it sends one. */
  logLevel?: LogLevel;
  /** Resource URIs the client subscribed to (`resources/subscribe`), sorted; absent when none. */
  subscriptions?: string[];
}

export type SessionStateChange = { logLevel: LogLevel } | { subscribe: string } | { unsubscribe: string };

/** Bounds that keep a session item far below DynamoDB's 400 KB item limit. */
export const SUBSCRIPTION_URI_MAX_BYTES = 2048;
export const SUBSCRIPTIONS_MAX = 100;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export type StateChangeProblem = 'invalid_change' | 'invalid_log_level' | 'invalid_uri' | 'uri_too_long' | 'too_many_subscriptions';

/** Rejected state change; `problem` is a stable machine code (the HTTP API answers it as a 400). */
export class InvalidStateChangeError extends Error {
  override readonly name = 'InvalidStateChangeError';
  constructor(
    readonly problem: StateChangeProblem,
    message: string,
  ) {
    super(message);
  }
}

export const isLogLevel = (value: unknown): value is LogLevel => typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);

function parseUri(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new InvalidStateChangeError('invalid_uri', 'a subscription URI must be a non-empty string');
  if (Buffer.byteLength(value) > SUBSCRIPTION_URI_MAX_BYTES) {
    throw new InvalidStateChangeError('uri_too_long', `a subscription URI must be at most ${SUBSCRIPTION_URI_MAX_BYTES} bytes (UTF-8)`);
  }
  return value;
}

/**
 * Checks an untrusted state change: an object with exactly one of `logLevel`, `subscribe` or
 * `unsubscribe`. Returns it typed, or throws InvalidStateChangeError on the first problem. A full subscription set is only known to
 * the store, which throws `too_many_subscriptions` itself.
 */
export function parseStateChange(input: unknown): SessionStateChange {
  if (!isPlainObject(input)) throw new InvalidStateChangeError('invalid_change', 'a state change must be a JSON object');
  const keys = Object.keys(input);
  if (keys.length !== 1) throw new InvalidStateChangeError('invalid_change', 'a state change has exactly one of logLevel, subscribe, unsubscribe');
  if ('logLevel' in input) {
    if (!isLogLevel(input.logLevel)) throw new InvalidStateChangeError('invalid_log_level', `logLevel must be one of ${LOG_LEVELS.join(', ')}`);
    return { logLevel: input.logLevel };
  }
  if ('subscribe' in input) return { subscribe: parseUri(input.subscribe) };
  if ('unsubscribe' in input) return { unsubscribe: parseUri(input.unsubscribe) };
  throw new InvalidStateChangeError('invalid_change', 'a state change has exactly one of logLevel, subscribe, unsubscribe');
}

export interface StartedSession {
  sessionId: string;
  /** Epoch seconds. */
  expiresAt: number;
}

export interface ActiveSession {
  active: true;
  /** Epoch seconds, after any slide. */
  expiresAt: number;
  metadata?: SessionMetadata;
  /** Present once anything was set (see SessionState). */
  state?: SessionState;
}

export type SessionStatus = ActiveSession | { active: false };

/** Limits on what start accepts, shared by the library, the handlers and the client. */
export const OWNER_MAX_LENGTH = 256;
export const METADATA_MAX_BYTES = 8 * 1024;

/**
 * Owners travel in an HTTP header, so they are printable ASCII, and HTTP trims a header's leading
 * and trailing spaces, so they may have none: an owner that would not arrive intact is refused at
 * start instead of binding a session no later request can reach.
 */
const OWNER_PATTERN = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

export type StartInputProblem = 'invalid_owner' | 'invalid_metadata' | 'metadata_too_large';

/** Rejected start input; `problem` is a stable machine code. */
export class InvalidStartInputError extends Error {
  override readonly name = 'InvalidStartInputError';
  constructor(
    readonly problem: StartInputProblem,
    message: string,
  ) {
    super(message);
  }
}

export const isOwner = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= OWNER_MAX_LENGTH && OWNER_PATTERN.test(value);

/** Checks untrusted start input, returning it typed or throwing InvalidStartInputError on the first problem. */
export function parseStartOptions(input: { owner?: unknown; metadata?: unknown }): StartOptions {
  const { owner, metadata } = input;
  if (owner !== undefined && !isOwner(owner)) {
    throw new InvalidStartInputError('invalid_owner', `owner must be 1-${OWNER_MAX_LENGTH} printable ASCII characters, with no leading or trailing space`);
  }
  if (metadata !== undefined && !isPlainObject(metadata)) throw new InvalidStartInputError('invalid_metadata', 'metadata must be a JSON object');
  if (metadata !== undefined && Buffer.byteLength(JSON.stringify(metadata)) > METADATA_MAX_BYTES) {
    throw new InvalidStartInputError('metadata_too_large', `metadata must serialize to at most ${METADATA_MAX_BYTES} bytes`);
  }
  return { ...(owner !== undefined ? { owner } : {}), ...(metadata !== undefined ? { metadata } : {}) };
}
