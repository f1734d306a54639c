import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { StoreUnavailableError } from './errors.js';
import { OWNER_HEADER } from './http/session-input.js';
import { pathFor, routes } from './routes.js';
import { isSessionId } from './session-id.js';
import {
  isOwner,
  parseStartOptions,
  type OwnerOption,
  type SessionMetadata,
  type SessionStatus,
  type SessionStore,
  type StartOptions,
  type StartedSession,
} from './session-store.js';

export type SessionClientSigning =
  /** SigV4 for the deployed, IAM-authorised API. Credentials default to the AWS default chain. */
  | { kind: 'sigv4'; region?: string; credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider }
  /** No signature: for the local server from `npm start`. */
  | { kind: 'none' };

export interface SessionClientOptions {
  /** The API's base URL, e.g. the stack's ApiUrl output or http://127.0.0.1:3000. */
  baseUrl: string;
  signing: SessionClientSigning;
  /** Per attempt. */
  timeoutMs?: number;
  /** Attempts per call, including the first. */
  maxAttempts?: number;
  /** First backoff step; later ones double, with full jitter. */
  baseDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the call fails instead. */
  maxRetryAfterMs?: number;
  /** Injected for tests: the time requests are signed at, and how to wait between attempts. */
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

/** The API answered in a way no retry can fix (e.g. 403: the caller's role was not granted invoke). */
export class SessionServiceError extends Error {
  override readonly name = 'SessionServiceError';
  constructor(
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(`session service answered ${status}${code ? ` (${code})` : ''}`);
  }
}

interface ApiResponse {
  status: number;
  body: unknown;
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

/**
 * The session service's HTTP API as a SessionStore, for MCP front ends. It never reports a live
 * session inactive because of a failure: only a 404 means inactive; anything it cannot resolve after
 * its bounded retries throws (StoreUnavailableError for outages, SessionServiceError otherwise).
 */
export class SessionClient implements SessionStore {
  private readonly baseUrl: URL;
  private readonly signer: SignatureV4 | undefined;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly now: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: SessionClientOptions) {
    this.baseUrl = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 5000;
    this.now = options.now ?? (() => new Date());
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.signer =
      options.signing.kind === 'sigv4'
        ? new SignatureV4({
            service: 'execute-api',
            region: options.signing.region ?? regionOf(this.baseUrl),
            credentials: options.signing.credentials ?? defaultProvider(),
            sha256: Sha256,
          })
        : undefined;
  }

  async start(options: StartOptions = {}): Promise<StartedSession> {
    parseStartOptions(options); // in-process callers are not type-checked at run time either
    const response = await this.call('POST', pathFor(routes.start), { body: JSON.stringify(options) });
    if (response.status !== 201) throw unexpected(response);
    const body = response.body as { sessionId: string; expiresAt: string };
    return { sessionId: body.sessionId, expiresAt: Date.parse(body.expiresAt) / 1000 };
  }

  async check(sessionId: string, options: OwnerOption = {}): Promise<SessionStatus> {
    // No session can be bound to an owner start would refuse, and such an owner cannot travel in a header.
    if (!isSessionId(sessionId) || !ownerSendable(options.owner)) return { active: false };
    const response = await this.call('GET', pathFor(routes.check, { sessionId }), { owner: options.owner });
    if (response.status === 404) return { active: false };
    if (response.status !== 200) throw unexpected(response);
    const body = response.body as { expiresAt: string; metadata?: SessionMetadata };
    return { active: true, expiresAt: Date.parse(body.expiresAt) / 1000, ...(body.metadata ? { metadata: body.metadata } : {}) };
  }

  async destroy(sessionId: string, options: OwnerOption = {}): Promise<void> {
    if (!isSessionId(sessionId) || !ownerSendable(options.owner)) return;
    const response = await this.call('DELETE', pathFor(routes.destroy, { sessionId }), { owner: options.owner });
    if (response.status !== 204) throw unexpected(response);
  }

  /** One call with bounded retries on throttling, outages and network failures. */
  private async call(method: string, path: string, input: { body?: string; owner?: string | undefined }): Promise<ApiResponse> {
    const operation = `${method} ${path.split('/')[1] ?? ''}`;
    let lastFailure: unknown;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        const response = await this.send(method, path, input);
        if (!RETRYABLE_STATUS.has(response.status)) return { status: response.status, body: await readJson(response) };
        await response.body?.cancel();
        retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.now());
        lastFailure = new SessionServiceError(response.status, undefined);
        if (retryAfterMs !== undefined && retryAfterMs > this.maxRetryAfterMs) break;
      } catch (error) {
        lastFailure = error; // network error or timeout
      }
      if (attempt < this.maxAttempts) await this.sleep(retryAfterMs ?? this.backoff(attempt));
    }
    throw new StoreUnavailableError(operation, { cause: lastFailure });
  }

  private backoff(attempt: number): number {
    return Math.random() * this.baseDelayMs * 2 ** (attempt - 1);
  }

  private async send(method: string, path: string, input: { body?: string; owner?: string | undefined }): Promise<Response> {
    const url = new URL(path.slice(1), this.baseUrl);
    const headers: Record<string, string> = { host: url.host, accept: 'application/json' };
    if (input.body !== undefined) headers['content-type'] = 'application/json';
    if (input.owner !== undefined) headers[OWNER_HEADER] = input.owner;
    const signed = this.signer
      ? (
          await this.signer.sign(
            new HttpRequest({
              method,
              protocol: url.protocol,
              hostname: url.hostname,
              port: url.port ? Number(url.port) : undefined,
              path: url.pathname,
              headers,
              body: input.body,
            }),
            { signingDate: this.now() },
          )
        ).headers
      : headers;
    // fetch derives Host from the URL (the same value that was signed) and keeps connections alive.
    const { host: _host, ...sendHeaders } = signed;
    return fetch(url, { method, headers: sendHeaders, body: input.body, signal: AbortSignal.timeout(this.timeoutMs) });
  }
}

const ownerSendable = (owner: string | undefined): boolean => owner === undefined || isOwner(owner);

/** execute-api hosts name their region: {api}.execute-api.{region}.amazonaws.com. */
function regionOf(url: URL): string {
  const fromHost = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com/.exec(url.hostname)?.[1];
  const region = fromHost ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new Error('SessionClient: no region for SigV4; pass signing.region or set AWS_REGION');
  return region;
}

/** Retry-After in milliseconds, from delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now.getTime());
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

function unexpected(response: ApiResponse): SessionServiceError {
  const code = (response.body as { error?: unknown } | undefined)?.error;
  return new SessionServiceError(response.status, typeof code === 'string' ? code : undefined);
}
