import { randomUUID } from 'node:crypto';
import { sessionClientWorstCaseMs } from '../../deadline-budget.js';
import { errorName } from '../../errors.js';
import { silentLogger, type Logger } from '../../logger.js';
import { sessionTag } from '../../session-id.js';
import type { SessionStreams } from '../../session-streams.js';
import { RELAY_ID_PREFIX, isRelayId, responseId } from './stream-events.js';
import { Backoff, eitherSignal, sleep, storeCall } from './timing.js';

/** The relay's first poll of a relay stream comes after this; later ones double up to the maximum. */
export const DEFAULT_RELAY_POLL_MIN_MS = 50;
export const DEFAULT_RELAY_POLL_MAX_MS = 1000;

export interface ServerRequestRelayOptions {
  streams: SessionStreams;
  logger?: Logger;
  /** Each store call's deadline (default: SessionClient's worst case, as the gate). */
  storeDeadlineMs?: number;
  pollMinMs?: number;
  pollMaxMs?: number;
}

/** A client's answer to a server->client request: a JSON-RPC response whose id is the relay id. */
export type RelayAnswer = Record<string, unknown> & { id: string };

/** No answer came within the wait's timeout. */
export class RelayTimeoutError extends Error {
  override readonly name = 'RelayTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

interface Waiter {
  sessionId: string;
  answer: (message: RelayAnswer) => void;
}

/**
 * Carries a client's answer to a server->client request (elicitation, sampling, roots) from
 * whichever instance it was POSTed to back to the instance whose request is waiting for it.
 *
 * The request leaves with a fresh id `relay:<uuid>` (`newRelayId`). The waiting instance registers
 * here (`wait`); the instance that receives the answer calls `deliver`: handed over in memory when
 * the waiter is in this process (nothing stored), else appended to the session's stream of that
 * name, which the waiter polls (first after `pollMinMs`, doubling to `pollMaxMs`) until its
 * timeout. A relay stream that was written or waited on in vain is removed afterwards (the
 * streams' retention is the backstop). One relay per process (per handler), not a global.
 */
export class ServerRequestRelay {
  private readonly waiters = new Map<string, Waiter>();
  private readonly logger: Logger;
  private readonly closing = new AbortController();

  constructor(private readonly options: ServerRequestRelayOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  newRelayId(): string {
    return `${RELAY_ID_PREFIX}${randomUUID()}`;
  }

  /** Waits in progress in this process (tests check that none leak). */
  get pending(): number {
    return this.waiters.size;
  }

  /**
   * The answer to `relayId`, or RelayTimeoutError after `timeoutMs`; when `signal` aborts (the
   * request was cancelled) it rejects with the signal's reason and stops polling.
   */
  async wait(sessionId: string, relayId: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<RelayAnswer> {
    if (!isRelayId(relayId)) throw new Error('not a relay id');
    let local: RelayAnswer | undefined;
    const woken = new AbortController();
    this.waiters.set(relayId, {
      sessionId,
      answer: (message) => {
        local = message;
        woken.abort();
      },
    });
    const timer = new AbortController();
    const timeout = timer.signal;
    const clock = setTimeout(() => timer.abort(), options.timeoutMs);
    clock.unref();
    const stop = eitherSignal(woken.signal, timeout, options.signal, this.closing.signal);
    const backoff = new Backoff(this.options.pollMinMs ?? DEFAULT_RELAY_POLL_MIN_MS, this.options.pollMaxMs ?? DEFAULT_RELAY_POLL_MAX_MS);
    let stored: RelayAnswer | undefined;
    try {
      while (local === undefined && stored === undefined) {
        await sleep(backoff.next(), stop.signal);
        if (local !== undefined) break;
        if (options.signal?.aborted) throw options.signal.reason;
        if (this.closing.signal.aborted) throw new Error('relay closed');
        if (timeout.aborted) throw new RelayTimeoutError(options.timeoutMs);
        stored = await this.poll(sessionId, relayId, stop.signal);
      }
    } finally {
      clearTimeout(clock);
      stop.dispose();
      this.waiters.delete(relayId);
      // An answer handed over in memory left nothing behind; anything else may have (or may yet).
      if (local === undefined) this.remove(sessionId, relayId);
    }
    return local ?? (stored as RelayAnswer);
  }

  /**
   * Takes a client's answer (a JSON-RPC response whose id is a relay id): to the waiter if it is in
   * this process, else into the relay stream. 'stored' does not mean anyone still waits.
   */
  async deliver(sessionId: string, answer: RelayAnswer, options: { signal?: AbortSignal } = {}): Promise<'local' | 'stored'> {
    const waiter = this.waiters.get(answer.id);
    if (waiter !== undefined && waiter.sessionId === sessionId) {
      this.waiters.delete(answer.id);
      waiter.answer(answer);
      return 'local';
    }
    await storeCall('append', this.deadlineMs, options.signal, (signal) => this.options.streams.append(sessionId, answer.id, answer, { signal }));
    return 'stored';
  }

  /** Ends every wait (rejected) and poll: the handler is closing. */
  close(): void {
    this.closing.abort();
  }

  private get deadlineMs(): number {
    return this.options.storeDeadlineMs ?? sessionClientWorstCaseMs();
  }

  /** The stored answer, if any; a failed read is logged and the next poll tries again. */
  private async poll(sessionId: string, relayId: string, signal: AbortSignal): Promise<RelayAnswer | undefined> {
    try {
      const [first] = await storeCall('readAfter', this.deadlineMs, signal, (inner) =>
        this.options.streams.readAfter(sessionId, relayId, 0, { limit: 1, signal: inner }),
      );
      const message = first?.message;
      if (message === undefined || responseId(message) !== relayId) return undefined;
      return message as RelayAnswer;
    } catch (error) {
      if (!signal.aborted) this.logger.warn('relay poll failed', { session: sessionTag(sessionId), error: errorName(error) });
      return undefined;
    }
  }

  private remove(sessionId: string, relayId: string): void {
    storeCall('removeStream', this.deadlineMs, undefined, (signal) => this.options.streams.removeStream(sessionId, relayId, { signal })).catch((error: unknown) => {
      this.logger.warn('relay stream not removed (its retention will)', { session: sessionTag(sessionId), error: errorName(error) });
    });
  }
}
