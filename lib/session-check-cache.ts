import { systemClock, type Clock } from './clock.js';
import { untilAborted } from './deadline-budget.js';
import { isSessionId } from './session-id.js';
import type {
  ActiveSession,
  OwnerOption,
  SessionStateChange,
  SessionStatus,
  SessionStore,
  StartOptions,
  StartedSession,
} from './session-store.js';

export interface SessionCheckCacheOptions {
  /**
   * The longest a check's answer is served from this process's memory, in milliseconds. It is
   * also how long a session ended (DELETE) or changed (`updateState`) through ANOTHER instance can
   * still look live or unchanged here: keep it short (e.g. 1000). 0 caches nothing and only
   * coalesces checks that run at the same time.
   */
  maxAgeMs: number;
  /**
   * The sessions' TTL in seconds, as the service has it (SESSION_TTL_SECONDS): an answer is never
   * served once the store would slide the session (half the TTL before its expiry), so slides
   * happen when they are due. Default: the wrapped store's own `ttlSeconds` (DynamoSessionStore
   * has one); required for a store without it, such as SessionClient, unless maxAgeMs is 0.
   */
  ttlSeconds?: number;
  /** Sessions remembered at most; the oldest answer goes first. Default 10,000. */
  maxEntries?: number;
  /** Milliseconds since the epoch; tests pass a manual clock. */
  clock?: Clock;
}

/** What the cache did, for tests and the benchmark. */
export interface SessionCheckCacheStats {
  /** Checks answered from memory. */
  hits: number;
  /** Checks that asked the store. */
  storeChecks: number;
  /** Checks that waited for a check of the same session already asking the store. */
  coalesced: number;
}

export const DEFAULT_CHECK_CACHE_MAX_ENTRIES = 10_000;

interface Entry {
  owner: string | undefined;
  status: ActiveSession;
  /** Served while the clock is before this (ms). */
  until: number;
}

/** One store check that several callers wait for. */
interface Flight {
  sessionId: string;
  owner: string | undefined;
  promise: Promise<SessionStatus>;
  /** Its session was ended or changed here meanwhile: its answer is handed to its callers, never kept. */
  stale: boolean;
  /** Callers with a signal still waiting; when the last one has gone, the store call is abandoned too. */
  waiting: number;
  /** A caller without a signal joined: the call runs to its own end. */
  unbounded: boolean;
  controller: AbortController;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function positive(name: string, value: number, { zero = false, integer = false } = {}): number {
  const ok = Number.isFinite(value) && (zero ? value >= 0 : value > 0) && (!integer || Number.isInteger(value));
  if (!ok) throw new RangeError(`SessionCheckCache: ${name} must be a ${integer ? 'whole ' : ''}number ${zero ? '>= 0' : '> 0'}, got ${value}`);
  return value;
}

/**
 * A SessionStore in front of another that answers repeated checks of a live session from memory
 * for a short while, and lets checks of one session that run at the same time share one store
 * call. Opt-in: it trades a bounded staleness for store requests (see `maxAgeMs`).
 *
 * What it guarantees:
 * - an answer is served only while `now < min(read + maxAgeMs, expiresAt - ttl/2, expiresAt)`:
 *   never past the stored expiry, never once a slide is due (the next check goes to the store and
 *   slides), never longer than maxAgeMs after the store was asked;
 * - only active answers are kept, and only for the owner they were read with;
 * - `destroy` and `updateState` through this wrapper forget the session at once (before and after
 *   the store call, so a check racing them is not kept either): this instance never serves a
 *   session it ended or a state it changed;
 * - through another instance, a DELETE or a state change shows here after at most maxAgeMs (plus a
 *   check already in flight when it happened);
 * - answers are frozen, being shared between callers;
 * - at most `maxEntries` sessions are remembered.
 *
 * Pass the wrapper wherever the store is used on this instance (the gate and whatever calls
 * `updateState`), so its own changes go through it.
 */
export class SessionCheckCache implements SessionStore {
  readonly stats: SessionCheckCacheStats = { hits: 0, storeChecks: 0, coalesced: 0 };
  private readonly maxAgeMs: number;
  private readonly halfTtlMs: number;
  private readonly maxEntries: number;
  private readonly clock: Clock;
  private readonly entries = new Map<string, Entry>();
  /** Checks in flight, by session then owner (a session's checks under different owners are different questions). */
  private readonly flights = new Map<string, Map<string | undefined, Flight>>();

  constructor(
    private readonly store: SessionStore,
    options: SessionCheckCacheOptions,
  ) {
    this.maxAgeMs = positive('maxAgeMs', options.maxAgeMs, { zero: true });
    const ttlSeconds = options.ttlSeconds ?? ('ttlSeconds' in store && typeof store.ttlSeconds === 'number' ? store.ttlSeconds : undefined);
    // Coalescing alone keeps nothing, so it needs no TTL.
    if (ttlSeconds === undefined && this.maxAgeMs > 0) {
      throw new RangeError("SessionCheckCache: ttlSeconds is required for a store that does not say its own (the service's SESSION_TTL_SECONDS)");
    }
    this.halfTtlMs = ttlSeconds === undefined ? 0 : (positive('ttlSeconds', ttlSeconds) * 1000) / 2;
    this.maxEntries = positive('maxEntries', options.maxEntries ?? DEFAULT_CHECK_CACHE_MAX_ENTRIES, { integer: true });
    this.clock = options.clock ?? systemClock;
  }

  start(options?: StartOptions): Promise<StartedSession> {
    return this.store.start(options);
  }

  check(sessionId: string, options: OwnerOption = {}): Promise<SessionStatus> {
    // A malformed id costs the store nothing and is never kept (nor could it collide with a real one).
    if (!isSessionId(sessionId)) return this.store.check(sessionId, options);
    const entry = this.entries.get(sessionId);
    if (entry !== undefined) {
      if (this.clock() < entry.until) {
        if (entry.owner === options.owner) {
          this.stats.hits++;
          return Promise.resolve(entry.status);
        }
      } else {
        this.entries.delete(sessionId);
      }
    }
    return this.join(this.flightFor(sessionId, options.owner), options.signal);
  }

  async destroy(sessionId: string, options?: OwnerOption): Promise<boolean> {
    this.forget(sessionId);
    try {
      return await this.store.destroy(sessionId, options);
    } finally {
      this.forget(sessionId);
    }
  }

  async updateState(sessionId: string, change: SessionStateChange, options?: OwnerOption): Promise<SessionStatus> {
    this.forget(sessionId);
    try {
      return await this.store.updateState(sessionId, change, options);
    } finally {
      this.forget(sessionId);
    }
  }

  /** Sessions remembered now (answers past their time included until they are next looked up or pushed out). */
  get size(): number {
    return this.entries.size;
  }

  /** Drops what is known of a session, and marks its checks in flight so their answers are not kept. */
  private forget(sessionId: string): void {
    this.entries.delete(sessionId);
    const flights = this.flights.get(sessionId);
    if (flights === undefined) return;
    for (const flight of flights.values()) flight.stale = true;
    this.flights.delete(sessionId);
  }

  private flightFor(sessionId: string, owner: string | undefined): Flight {
    const existing = this.flights.get(sessionId)?.get(owner);
    if (existing !== undefined) {
      this.stats.coalesced++;
      return existing;
    }
    this.stats.storeChecks++;
    const askedAt = this.clock();
    const controller = new AbortController();
    // The callbacks run once the store answers, by when `flight` is set.
    const promise = this.store.check(sessionId, { ...(owner === undefined ? {} : { owner }), signal: controller.signal }).then(
      (status) => {
        this.land(flight);
        if (status.active && !flight.stale) return this.remember(sessionId, owner, status, askedAt);
        return status;
      },
      (error: unknown) => {
        this.land(flight);
        throw error;
      },
    );
    const flight: Flight = { sessionId, owner, promise, stale: false, waiting: 0, unbounded: false, controller };
    const forSession = this.flights.get(sessionId) ?? new Map<string | undefined, Flight>();
    forSession.set(owner, flight);
    this.flights.set(sessionId, forSession);
    return flight;
  }

  /** A flight that has landed (or been abandoned) takes no more passengers. */
  private land(flight: Flight): void {
    const forSession = this.flights.get(flight.sessionId);
    if (forSession?.get(flight.owner) !== flight) return;
    forSession.delete(flight.owner);
    if (forSession.size === 0) this.flights.delete(flight.sessionId);
  }

  /**
   * Waits for the flight within the caller's own signal. The store call itself is abandoned only
   * when every caller waiting on it has gone (one client hanging up must not fail the others).
   */
  private join(flight: Flight, signal: AbortSignal | undefined): Promise<SessionStatus> {
    if (signal === undefined) {
      flight.unbounded = true;
      return flight.promise;
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    flight.waiting++;
    const leave = () => {
      flight.waiting--;
      if (flight.waiting > 0 || flight.unbounded) return;
      this.land(flight); // a check that comes next asks afresh rather than inherit the abandoned call
      flight.controller.abort(signal.reason);
    };
    signal.addEventListener('abort', leave, { once: true });
    const settled = () => signal.removeEventListener('abort', leave);
    flight.promise.then(settled, settled);
    return untilAborted(flight.promise, signal);
  }

  private remember(sessionId: string, owner: string | undefined, status: ActiveSession, askedAt: number): ActiveSession {
    const frozen = deepFreeze(status);
    const expiresAtMs = status.expiresAt * 1000;
    // Counted from when the store was asked, not answered: the answer may be that old already.
    const until = Math.min(askedAt + this.maxAgeMs, expiresAtMs - this.halfTtlMs, expiresAtMs);
    if (until <= this.clock()) return frozen;
    this.entries.delete(sessionId); // re-inserted last: the Map's order is the eviction order
    this.entries.set(sessionId, { owner, status: frozen, until });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    return frozen;
  }
}
