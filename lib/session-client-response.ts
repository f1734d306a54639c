/**
 * Reading the session API's answers for SessionClient: bodies under a size cap, the shapes the
 * service sends, Retry-After, and API Gateway's clock-skew rejection. Nothing here trusts the
 * peer: a body that is too large, not JSON or not the expected shape is reported, never cast.
 */
import { isSessionId } from './session-id.js';
import {
  METADATA_MAX_BYTES,
  SUBSCRIPTIONS_MAX,
  SUBSCRIPTION_URI_MAX_BYTES,
  isLogLevel,
  type SessionMetadata,
  type SessionState,
  type SessionStatus,
  type StartedSession,
} from './session-store.js';
import type { StreamMessage } from './session-streams.js';

/**
 * The largest session answer (check, updateState): 8 KiB of metadata and a full set of
 * subscriptions, each URI JSON-escaped at worst (a control character is 6 bytes as \u00XX), plus
 * 64 KiB for everything else. Anything larger is not the service's.
 */
export const MAX_RESPONSE_BYTES = METADATA_MAX_BYTES + SUBSCRIPTIONS_MAX * SUBSCRIPTION_URI_MAX_BYTES * 6 + 64 * 1024;

export type BoundedBody = { ok: true; body: unknown } | { ok: false };

/**
 * The body as JSON (undefined when empty or not JSON), reading at most `maxBytes`: a longer body
 * is abandoned (`ok: false`) as soon as it passes the cap, so a runaway peer costs neither memory
 * nor time. Reading stops when the response's signal aborts, like fetch itself.
 */
export async function readBoundedJson(response: Response, maxBytes = MAX_RESPONSE_BYTES): Promise<BoundedBody> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    await response.body?.cancel();
    return { ok: false };
  }
  if (!response.body) return { ok: true, body: undefined };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return { ok: false };
    }
    chunks.push(value);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return { ok: true, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  } catch {
    return { ok: true, body: undefined };
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Epoch seconds from the ISO time the API sends; undefined when it is not one. */
const epochSeconds = (value: unknown): number | undefined => {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms / 1000;
};

/** The service's own "no such session" body, as opposed to a 404 from API Gateway or a proxy. */
export const isInactiveBody = (body: unknown): boolean => isRecord(body) && body.active === false;

/** A 201 from POST /sessions; undefined when the body is not one. */
export function startedFrom(body: unknown): StartedSession | undefined {
  if (!isRecord(body) || !isSessionId(body.sessionId)) return undefined;
  const expiresAt = epochSeconds(body.expiresAt);
  return expiresAt === undefined ? undefined : { sessionId: body.sessionId, expiresAt };
}

/** A 200 from GET /sessions/{sessionId} or PATCH .../state; undefined when the body is not one. */
export function activeFrom(body: unknown): SessionStatus | undefined {
  if (!isRecord(body) || body.active !== true) return undefined;
  const expiresAt = epochSeconds(body.expiresAt);
  if (expiresAt === undefined) return undefined;
  if (body.metadata !== undefined && !isRecord(body.metadata)) return undefined;
  const metadata: SessionMetadata | undefined = body.metadata;
  const state = body.state === undefined ? undefined : stateFrom(body.state);
  if (state === 'invalid') return undefined;
  return { active: true, expiresAt, ...(metadata ? { metadata } : {}), ...(state ? { state } : {}) };
}

/** The session's state as the API sends it; fields it does not know are left out, malformed ones refused. */
function stateFrom(value: unknown): SessionState | undefined | 'invalid' {
  if (!isRecord(value)) return 'invalid';
  const { logLevel, subscriptions } = value;
  if (logLevel !== undefined && !isLogLevel(logLevel)) return 'invalid';
  if (subscriptions !== undefined && !(Array.isArray(subscriptions) && subscriptions.every((uri) => typeof uri === 'string'))) return 'invalid';
  const state: SessionState = {
    ...(logLevel !== undefined ? { logLevel } : {}),
    ...(subscriptions !== undefined ? { subscriptions: subscriptions as string[] } : {}),
  };
  return Object.keys(state).length > 0 ? state : undefined;
}

/** Sequence numbers are positive whole numbers (0 only as "none yet", in lastSeq). */
const isSeq = (value: unknown, min = 1): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= min;

/** A 201 from an append; undefined when the body is not one. */
export const appendedSeqFrom = (body: unknown): number | undefined => (isRecord(body) && isSeq(body.seq) ? body.seq : undefined);

/** A 200 from lastSeq; undefined when the body is not one. */
export const lastSeqFrom = (body: unknown): number | undefined => (isRecord(body) && isSeq(body.lastSeq, 0) ? body.lastSeq : undefined);

/**
 * A 200 from readMessages for messages after `afterSeq`, at most `limit`: ascending sequence
 * numbers past afterSeq, each with its message; undefined when the body is not that.
 */
export function messagesFrom(body: unknown, afterSeq: number, limit: number): { messages: StreamMessage[]; more: boolean } | undefined {
  if (!isRecord(body) || !Array.isArray(body.messages) || typeof body.more !== 'boolean' || body.messages.length > limit) return undefined;
  const messages: StreamMessage[] = [];
  let previous = afterSeq;
  for (const entry of body.messages as unknown[]) {
    if (!isRecord(entry) || !isSeq(entry.seq) || entry.seq <= previous || !('message' in entry)) return undefined;
    messages.push({ seq: entry.seq, message: entry.message });
    previous = entry.seq;
  }
  // A page cut short for size has at least one message, or a reader would never move on.
  if (body.more && messages.length === 0) return undefined;
  return { messages, more: body.more };
}

/** The machine code of an error answer: ours (`error`) or API Gateway's (`x-amzn-errortype`). */
export function errorCodeOf(headers: Headers, body: unknown): string | undefined {
  if (isRecord(body) && typeof body.error === 'string') return body.error;
  // API Gateway may append ":http://internal.amazon.com/..." to the type.
  return headers.get('x-amzn-errortype')?.split(':')[0] || undefined;
}

/**
 * API Gateway's answer to a SigV4 date outside its 5-minute window: 403, x-amzn-errortype
 * InvalidSignatureException, and "Signature expired: ..." or "Signature not yet current: ...".
 * Other signature failures (wrong key, wrong region) share the type but not the message.
 */
export function isClockSkewRejection(status: number, headers: Headers, body: unknown): boolean {
  if (status !== 403) return false;
  const type = headers.get('x-amzn-errortype')?.split(':')[0];
  if (type !== undefined && type !== 'InvalidSignatureException') return false;
  return isRecord(body) && typeof body.message === 'string' && /^Signature (expired|not yet current)\b/.test(body.message);
}

/** Retry-After in milliseconds, from delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now.getTime());
}
