import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { DEADLINE_BUDGET, deadlineSignal, untilAborted } from './deadline-budget.js';
import { StoreUnavailableError } from './errors.js';
import { OWNER_HEADER, pathFor, routeKey, routes, type Route } from './routes.js';
import {
  activeFrom,
  errorCodeOf,
  isClockSkewRejection,
  isInactiveBody,
  parseRetryAfter,
  readBoundedJson,
  startedFrom,
} from './session-client-response.js';
import { isSessionId } from './session-id.js';
import {
  isOwner,
  parseStartOptions,
  type OwnerOption,
  type SessionStatus,
  type SessionStore,
  type StartOptions,
  type StartedSession,
} from './session-store.js';

export { parseRetryAfter } from './session-client-response.js';

export type SessionClientSigning =
  /**
   * SigV4 for the deployed, IAM-authorised API. Credentials default to the AWS default chain. The
   * region is read from an execute-api hostname; any other host (a custom domain) needs it here.
   */
  | { kind: 'sigv4'; region?: string; credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider }
  /** No signature: for the local server from `npm start`. */
  | { kind: 'none' };

export interface SessionClientOptions {
  /**
   * The API's base URL: the stack's ApiUrl output, a custom domain with its base path
   * (https://sessions.example.com/v1), or http://127.0.0.1:3000.
   */
  baseUrl: string;
  signing: SessionClientSigning;
  /** Per attempt; default DEADLINE_BUDGET.sessionClientAttemptTimeoutMs. */
  timeoutMs?: number;
  /** Attempts per call, including the first; default DEADLINE_BUDGET.sessionClientMaxAttempts. */
  maxAttempts?: number;
  /** First backoff step; later ones double, with full jitter, never beyond maxRetryAfterMs. */
  baseDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the call fails instead. Default DEADLINE_BUDGET.sessionClientMaxRetryAfterMs. */
  maxRetryAfterMs?: number;
  /** Injected for tests: this host's clock (requests are signed at it plus the learned skew), and how to wait between attempts. */
  now?: () => Date;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * The API answered in a way no retry can fix: 403 (the caller's role was not granted invoke), a 404
 * that is not the service's (wrong base URL or stage), a body that is not the service's. The
 * message names the request as `METHOD {baseUrl}{route}` - the route template, never a session id.
 */
export class SessionServiceError extends Error {
  override readonly name = 'SessionServiceError';
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    readonly request: string,
  ) {
    super(`session service answered ${status}${code ? ` (${code})` : ''} to ${request}`);
  }
}

interface ApiResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/** One request: what to send and how to name it in errors without its session id. */
interface Target {
  method: string;
  url: URL;
  /** e.g. "GET https://sessions.example.com/v1/sessions/{sessionId}". */
  description: string;
  /** The route key, e.g. "GET /sessions/{sessionId}", for StoreUnavailableError. */
  operation: string;
  body?: string;
  owner?: string;
}

/** What one attempt came to: an answer to hand back, or a failure the loop may retry. */
type AttemptOutcome =
  | { kind: 'answer'; response: ApiResponse }
  | { kind: 'retry'; failure: unknown; retryAfterMs?: number }
  | { kind: 'resign'; failure: SessionServiceError };

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

/**
 * The session service's HTTP API as a SessionStore, for MCP front ends. It never reports a live
 * session inactive because of a failure: only the service's own 404 `{"active": false}` means
 * inactive; anything it cannot resolve within its bounded retries (and the caller's signal) throws:
 * StoreUnavailableError for outages, SessionServiceError otherwise.
 */
export class SessionClient implements SessionStore {
  private readonly baseUrl: URL;
  private readonly signer: SignatureV4 | undefined;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly now: () => Date;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Server clock minus ours, learned from a skew rejection and kept for later calls. */
  private clockOffsetMs = 0;

  constructor(options: SessionClientOptions) {
    this.baseUrl = parseBaseUrl(options.baseUrl);
    this.timeoutMs = options.timeoutMs ?? DEADLINE_BUDGET.sessionClientAttemptTimeoutMs;
    this.maxAttempts = options.maxAttempts ?? DEADLINE_BUDGET.sessionClientMaxAttempts;
    this.baseDelayMs = options.baseDelayMs ?? DEADLINE_BUDGET.sessionClientBaseDelayMs;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? DEADLINE_BUDGET.sessionClientMaxRetryAfterMs;
    this.now = options.now ?? (() => new Date());
    this.sleep = options.sleep ?? sleepUnlessAborted;
    this.signer =
      options.signing.kind === 'sigv4'
        ? new SignatureV4({
            service: 'execute-api',
            region: signingRegion(options.signing.region, this.baseUrl),
            credentials: options.signing.credentials ?? defaultProvider(),
            sha256: Sha256,
          })
        : undefined;
  }

  async start(options: StartOptions = {}): Promise<StartedSession> {
    // In-process callers are not type-checked at run time either; only owner and metadata are sent.
    const input = parseStartOptions(options);
    const target = this.target(routes.start, {}, { body: JSON.stringify(input) });
    const response = await this.call(target, options.signal);
    const started = response.status === 201 ? startedFrom(response.body) : undefined;
    if (!started) throw unexpected(target, response);
    return started;
  }

  async check(sessionId: string, options: OwnerOption = {}): Promise<SessionStatus> {
    // No session can be bound to an owner start would refuse, and such an owner cannot travel in a header.
    if (!isSessionId(sessionId) || !ownerSendable(options.owner)) return { active: false };
    const target = this.target(routes.check, { sessionId }, { owner: options.owner });
    const response = await this.call(target, options.signal);
    if (response.status === 404 && isInactiveBody(response.body)) return { active: false };
    const active = response.status === 200 ? activeFrom(response.body) : undefined;
    if (!active) throw unexpected(target, response);
    return active;
  }

  async destroy(sessionId: string, options: OwnerOption = {}): Promise<boolean> {
    if (!isSessionId(sessionId) || !ownerSendable(options.owner)) return false;
    const target = this.target(routes.destroy, { sessionId }, { owner: options.owner });
    const response = await this.call(target, options.signal);
    if (response.status === 204) return true;
    if (response.status === 404 && isInactiveBody(response.body)) return false;
    throw unexpected(target, response);
  }

  private target(route: Route, parameters: Record<string, string>, input: { body?: string; owner?: string | undefined }): Target {
    // Relative to the base URL, so a custom domain's base path (…/v1/) is kept.
    const url = new URL(pathFor(route, parameters).slice(1), this.baseUrl);
    const base = `${this.baseUrl.origin}${this.baseUrl.pathname.replace(/\/$/, '')}`;
    return {
      method: route.method,
      url,
      description: `${route.method} ${base}${route.path}`,
      operation: routeKey(route),
      ...(input.body !== undefined ? { body: input.body } : {}),
      ...(input.owner !== undefined ? { owner: input.owner } : {}),
    };
  }

  /**
   * One call with bounded retries on throttling, outages and network failures, and one re-signed
   * retry after a clock-skew rejection. Every attempt counts against maxAttempts, so a call never
   * outlasts sessionClientWorstCaseMs; once the caller's signal aborts, nothing more is sent or waited.
   */
  private async call(target: Target, signal: AbortSignal | undefined): Promise<ApiResponse> {
    const { operation } = target;
    let lastFailure: unknown;
    let resigned = false;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (signal?.aborted) throw new StoreUnavailableError(operation, { cause: signal.reason });
      const outcome = await this.attempt(target, signal, !resigned);
      if (outcome.kind === 'answer') return outcome.response;
      lastFailure = outcome.failure;
      if (outcome.kind === 'resign') {
        resigned = true;
        continue; // at once: the new offset is the fix, waiting is not
      }
      if (outcome.retryAfterMs !== undefined && outcome.retryAfterMs > this.maxRetryAfterMs) break;
      if (signal?.aborted || attempt === this.maxAttempts) break;
      await this.sleep(outcome.retryAfterMs ?? this.backoff(attempt), signal);
    }
    if (signal?.aborted) throw new StoreUnavailableError(operation, { cause: signal.reason });
    if (lastFailure instanceof SessionServiceError && !RETRYABLE_STATUS.has(lastFailure.status)) throw lastFailure;
    throw new StoreUnavailableError(operation, { cause: lastFailure });
  }

  private async attempt(target: Target, signal: AbortSignal | undefined, mayResign: boolean): Promise<AttemptOutcome> {
    try {
      const response = await this.send(target, deadlineSignal(this.timeoutMs, signal));
      if (RETRYABLE_STATUS.has(response.status)) {
        await response.body?.cancel();
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.serverNow());
        const failure = new SessionServiceError(response.status, undefined, target.description);
        return retryAfterMs === undefined ? { kind: 'retry', failure } : { kind: 'retry', failure, retryAfterMs };
      }
      const read = await readBoundedJson(response);
      if (!read.ok) throw new SessionServiceError(response.status, 'response_too_large', target.description);
      const answer = { status: response.status, headers: response.headers, body: read.body };
      if (this.signer && mayResign && isClockSkewRejection(answer.status, answer.headers, answer.body)) {
        const serverDate = Date.parse(answer.headers.get('date') ?? '');
        if (!Number.isNaN(serverDate)) {
          this.clockOffsetMs = serverDate - this.now().getTime();
          return { kind: 'resign', failure: unexpected(target, answer) };
        }
      }
      return { kind: 'answer', response: answer };
    } catch (error) {
      if (error instanceof SessionServiceError) throw error;
      return { kind: 'retry', failure: error }; // network error, attempt timeout or the caller's abort
    }
  }

  private backoff(attempt: number): number {
    return Math.min(this.maxRetryAfterMs, Math.random() * this.baseDelayMs * 2 ** (attempt - 1));
  }

  /** Our clock corrected by what the service told us of its own. */
  private serverNow(): Date {
    return new Date(this.now().getTime() + this.clockOffsetMs);
  }

  private async send(target: Target, signal: AbortSignal): Promise<Response> {
    const { method, url, body } = target;
    const headers: Record<string, string> = { host: url.host, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (target.owner !== undefined) headers[OWNER_HEADER] = target.owner;
    const signed = this.signer
      ? (
          await untilAborted(
            this.signer.sign(
              new HttpRequest({
                method,
                protocol: url.protocol,
                hostname: url.hostname,
                port: url.port ? Number(url.port) : undefined,
                path: url.pathname, // the full path, base path included: what API Gateway verifies
                headers,
                body,
              }),
              { signingDate: this.serverNow() },
            ),
            signal,
          )
        ).headers
      : headers;
    // fetch derives Host from the URL (the same value that was signed) and keeps connections alive.
    const { host: _host, ...sendHeaders } = signed;
    return fetch(url, { method, headers: sendHeaders, body, signal });
  }
}

const ownerSendable = (owner: string | undefined): boolean => owner === undefined || isOwner(owner);

function parseBaseUrl(value: string): URL {
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`SessionClient: baseUrl must be http(s), not ${url.protocol}`);
  if (url.username || url.password || url.search || url.hash) {
    throw new Error('SessionClient: baseUrl must be scheme, host and optional base path only (no credentials, query or fragment)');
  }
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url;
}

/**
 * execute-api hostnames name their region ({api}.execute-api.{region}.amazonaws.com, and the VPC
 * endpoint form {api}-{vpce}.execute-api.{region}.vpce.amazonaws.com); no other hostname does.
 */
export function regionFromHost(hostname: string): string | undefined {
  return /^[a-z0-9-]+\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/.exec(hostname.toLowerCase())?.[1];
}

/** An explicit region, or the one an execute-api hostname names: never a guess from the environment. */
function signingRegion(explicit: string | undefined, baseUrl: URL): string {
  if (explicit !== undefined && explicit.trim() !== '') return explicit.trim();
  const region = regionFromHost(baseUrl.hostname);
  if (!region) {
    throw new Error(
      `SessionClient: SigV4 needs signing.region for ${baseUrl.host}: only execute-api hostnames (…execute-api.{region}.amazonaws.com) name their region`,
    );
  }
  return region;
}

/** Waits `ms`, or less if the signal aborts first (the call loop then stops). */
const sleepUnlessAborted = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

function unexpected(target: Target, response: ApiResponse): SessionServiceError {
  return new SessionServiceError(response.status, errorCodeOf(response.headers, response.body), target.description);
}
