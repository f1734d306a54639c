/**
 * The request machinery SessionClient and SessionStreamsClient share: one base URL, SigV4 signing
 * (with the clock skew learned from API Gateway), a deadline per attempt, bounded retries and a size
 * cap on every body read. The clients only say what to send and how to read the answer.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { DEADLINE_BUDGET, deadlineSignal, sleepUnlessAborted, untilAborted } from './deadline-budget.js';
import { StoreUnavailableError } from './errors.js';
import { OWNER_HEADER, pathFor, routeKey, type Route } from './routes.js';
import { MAX_RESPONSE_BYTES, errorCodeOf, isClockSkewRejection, parseRetryAfter, readBoundedJson } from './session-client-response.js';

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

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * When a failed attempt may be sent again.
 * - `idempotent`: after throttling, outages, timeouts and network failures (sending twice does what
 *   sending once does: check, destroy, updateState, reads, removes; start mints a fresh id, and an
 *   orphaned session just expires).
 * - `undelivered`: only when the request certainly never reached a handler: API Gateway's throttle
 *   (429, which no handler sends), a clock-skew rejection, a connection that was never made, a
 *   signature that was never finished. Anything else (a 5xx, a timeout, a reset connection) may
 *   have been applied, so the call throws instead: for appends, where a second send would store the
 *   message twice.
 */
export type RetryPolicy = 'idempotent' | 'undelivered';

/** One request to one route, as a client describes it. */
export interface ApiRequest {
  route: Route;
  parameters?: Record<string, string>;
  query?: Record<string, string>;
  body?: string;
  owner?: string | undefined;
  retry?: RetryPolicy;
  /** The most of the answer's body read; default MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
}

/** One request: what to send and how to name it in errors without its session id. */
export interface Target {
  method: string;
  url: URL;
  /** e.g. "GET https://sessions.example.com/v1/sessions/{sessionId}". */
  description: string;
  /** The route key, e.g. "GET /sessions/{sessionId}", for StoreUnavailableError. */
  operation: string;
  body?: string;
  owner?: string;
  retry: RetryPolicy;
  maxResponseBytes: number;
}

/** What one attempt came to: an answer to hand back, or a failure the loop may retry. */
type AttemptOutcome =
  | { kind: 'answer'; response: ApiResponse }
  | { kind: 'retry'; failure: unknown; retryAfterMs?: number; delivered: boolean }
  | { kind: 'resign'; failure: SessionServiceError };

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

/** Connection failures that happen before a byte of the request is sent (the cause chain of fetch's TypeError). */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** A failure that happened before the request left this process (signing), tagged so the retry policy knows. */
class NotSent extends Error {
  override readonly name = 'NotSent';
}

/** The API at one base URL, signed or not; a client's calls go through `request`. */
export class SessionApi {
  readonly baseUrl: URL;
  private readonly signer: SignatureV4 | undefined;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly now: () => Date;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Server clock minus ours, learned from a skew rejection and kept for later calls. */
  private clockOffsetMs = 0;

  /** `client` names the class in construction errors ("SessionClient: baseUrl must be ..."). */
  constructor(options: SessionClientOptions, client = 'SessionClient') {
    this.baseUrl = parseBaseUrl(options.baseUrl, client);
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
            region: signingRegion(options.signing.region, this.baseUrl, client),
            credentials: options.signing.credentials ?? defaultProvider(),
            sha256: Sha256,
          })
        : undefined;
  }

  /** Sends the request (with the retries its policy allows) and returns the answer, read under its cap. */
  async request(request: ApiRequest, signal: AbortSignal | undefined): Promise<{ target: Target; response: ApiResponse }> {
    const target = this.target(request);
    return { target, response: await this.call(target, signal) };
  }

  /** The error for an answer the client cannot use; names the route, never the ids in the path. */
  unexpected(target: Target, response: ApiResponse): SessionServiceError {
    return new SessionServiceError(response.status, errorCodeOf(response.headers, response.body), target.description);
  }

  private target(request: ApiRequest): Target {
    const { route } = request;
    // Relative to the base URL, so a custom domain's base path (…/v1/) is kept.
    const url = new URL(pathFor(route, request.parameters).slice(1), this.baseUrl);
    for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.set(name, value);
    const base = `${this.baseUrl.origin}${this.baseUrl.pathname.replace(/\/$/, '')}`;
    return {
      method: route.method,
      url,
      description: `${route.method} ${base}${route.path}`,
      operation: routeKey(route),
      retry: request.retry ?? 'idempotent',
      maxResponseBytes: request.maxResponseBytes ?? MAX_RESPONSE_BYTES,
      ...(request.body !== undefined ? { body: request.body } : {}),
      ...(request.owner !== undefined ? { owner: request.owner } : {}),
    };
  }

  /**
   * One call with bounded retries on throttling, outages and network failures (as its retry policy
   * allows), and one re-signed retry after a clock-skew rejection. Every attempt counts against
   * maxAttempts, so a call never outlasts sessionClientWorstCaseMs; once the caller's signal aborts,
   * nothing more is sent or waited.
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
      if (outcome.delivered && target.retry === 'undelivered') break;
      if (outcome.retryAfterMs !== undefined && outcome.retryAfterMs > this.maxRetryAfterMs) break;
      if (signal?.aborted || attempt === this.maxAttempts) break;
      await this.sleep(outcome.retryAfterMs ?? this.backoff(attempt), signal);
    }
    if (signal?.aborted) throw new StoreUnavailableError(operation, { cause: signal.reason });
    if (lastFailure instanceof SessionServiceError && !RETRYABLE_STATUS.has(lastFailure.status)) throw lastFailure;
    throw new StoreUnavailableError(operation, { cause: lastFailure instanceof NotSent ? lastFailure.cause : lastFailure });
  }

  private async attempt(target: Target, signal: AbortSignal | undefined, mayResign: boolean): Promise<AttemptOutcome> {
    try {
      const response = await this.send(target, deadlineSignal(this.timeoutMs, signal));
      if (RETRYABLE_STATUS.has(response.status)) {
        await response.body?.cancel();
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.serverNow());
        const failure = new SessionServiceError(response.status, undefined, target.description);
        // Our handlers never answer 429: it is API Gateway's throttle, before any function ran.
        const delivered = response.status !== 429;
        return retryAfterMs === undefined ? { kind: 'retry', failure, delivered } : { kind: 'retry', failure, retryAfterMs, delivered };
      }
      const read = await readBoundedJson(response, target.maxResponseBytes);
      if (!read.ok) throw new SessionServiceError(response.status, 'response_too_large', target.description);
      const answer = { status: response.status, headers: response.headers, body: read.body };
      if (this.signer && mayResign && isClockSkewRejection(answer.status, answer.headers, answer.body)) {
        const serverDate = Date.parse(answer.headers.get('date') ?? '');
        if (!Number.isNaN(serverDate)) {
          this.clockOffsetMs = serverDate - this.now().getTime();
          return { kind: 'resign', failure: this.unexpected(target, answer) };
        }
      }
      return { kind: 'answer', response: answer };
    } catch (error) {
      if (error instanceof SessionServiceError) throw error;
      // A network error, the attempt's timeout or the caller's abort.
      return { kind: 'retry', failure: error, delivered: !neverSent(error) };
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
    const signed = this.signer ? await this.sign(target, headers, signal) : headers;
    // fetch derives Host from the URL (the same value that was signed) and keeps connections alive.
    const { host: _host, ...sendHeaders } = signed;
    return fetch(url, { method, headers: sendHeaders, body, signal });
  }

  private async sign(target: Target, headers: Record<string, string>, signal: AbortSignal): Promise<Record<string, string>> {
    if (!this.signer) return headers;
    const { url } = target;
    const query = Object.fromEntries(url.searchParams);
    try {
      const request = new HttpRequest({
        method: target.method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: url.pathname, // the full path, base path included: what API Gateway verifies
        ...(Object.keys(query).length > 0 ? { query } : {}),
        headers,
        body: target.body,
      });
      return (await untilAborted(this.signer.sign(request, { signingDate: this.serverNow() }), signal)).headers;
    } catch (error) {
      throw new NotSent('the request was not signed', { cause: error });
    }
  }
}

/** True when the request certainly never left: it was not signed, or its connection was never made. */
function neverSent(error: unknown): boolean {
  if (error instanceof NotSent) return true;
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== undefined && NOT_SENT_CODES.has(code)) return true;
  }
  return false;
}

function parseBaseUrl(value: string, client: string): URL {
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`${client}: baseUrl must be http(s), not ${url.protocol}`);
  if (url.username || url.password || url.search || url.hash) {
    throw new Error(`${client}: baseUrl must be scheme, host and optional base path only (no credentials, query or fragment)`);
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
function signingRegion(explicit: string | undefined, baseUrl: URL, client: string): string {
  if (explicit !== undefined && explicit.trim() !== '') return explicit.trim();
  const region = regionFromHost(baseUrl.hostname);
  if (!region) {
    throw new Error(
      `${client}: SigV4 needs signing.region for ${baseUrl.host}: only execute-api hostnames (…execute-api.{region}.amazonaws.com) name their region`,
    );
  }
  return region;
}
