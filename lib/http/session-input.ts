import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { OWNER_HEADER } from '../routes.js';
import { isSessionId } from '../session-id.js';
import {
  isOwner,
  parseStartOptions,
  parseStateChange,
  type OwnerOption,
  type SessionStateChange,
  type StartOptions,
} from '../session-store.js';
import { bodyText } from './handler.js';
import { errorResponse, invalidSessionId, type HttpResponse } from './responses.js';

/** Bigger than any valid start body (8 KB metadata + a 256-character owner), small enough to parse cheaply. */
export const MAX_START_BODY_BYTES = 16 * 1024;

/**
 * Bigger than any valid state change: a 2 KiB subscription URI, even written with JSON escapes
 * (up to 6 bytes per byte), plus its key, small enough to parse cheaply.
 */
export const MAX_STATE_BODY_BYTES = 16 * 1024;

export type Parsed<T> = { ok: true; value: T } | { ok: false; response: HttpResponse };

export const reject = (response: HttpResponse): { ok: false; response: HttpResponse } => ({ ok: false, response });

export const payloadTooLarge = (maxBytes: number): HttpResponse =>
  errorResponse(413, 'payload_too_large', `The request body must be at most ${maxBytes} bytes.`);

/** The session id of a request's path; a malformed one is refused before any store call. */
export function sessionIdOf(event: APIGatewayProxyEventV2): Parsed<string> {
  const sessionId = event.pathParameters?.sessionId;
  return isSessionId(sessionId) ? { ok: true, value: sessionId } : reject(invalidSessionId());
}

/** The session id and owner of a check, destroy or updateState request. */
export function sessionRequest(event: APIGatewayProxyEventV2): Parsed<{ sessionId: string } & OwnerOption> {
  const id = sessionIdOf(event);
  if (!id.ok) return id;
  const sessionId = id.value;
  const owner = event.headers[OWNER_HEADER];
  if (owner === undefined) return { ok: true, value: { sessionId } };
  if (!isOwner(owner)) return reject(errorResponse(400, 'invalid_owner', `The ${OWNER_HEADER} header must be 1-256 printable ASCII characters with no leading or trailing space.`));
  return { ok: true, value: { sessionId, owner } };
}

/**
 * The body parsed as JSON, refused over `maxBytes` (413) or when it is not JSON (400); undefined
 * when empty. The cap is checked before parsing, so an oversized body costs no parse.
 */
export function jsonBody(event: APIGatewayProxyEventV2, maxBytes: number, expected: string): Parsed<unknown> {
  const text = bodyText(event);
  if (Buffer.byteLength(text) > maxBytes) return reject(payloadTooLarge(maxBytes));
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return reject(errorResponse(400, 'invalid_body', `The request body must be ${expected}.`));
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The optional {owner, metadata} body of a start request. */
export function startRequest(event: APIGatewayProxyEventV2): Parsed<StartOptions> {
  const body = jsonBody(event, MAX_START_BODY_BYTES, 'empty or a JSON object');
  if (!body.ok) return body;
  if (body.value === undefined) return { ok: true, value: {} };
  if (!isPlainObject(body.value)) return reject(errorResponse(400, 'invalid_body', 'The request body must be empty or a JSON object.'));
  // Throws InvalidStartInputError, which the handler wrapper turns into 400 or 413.
  return { ok: true, value: parseStartOptions(body.value) };
}

/** The one SessionStateChange an updateState request carries, e.g. {"logLevel": "info"}. */
export function stateChangeRequest(event: APIGatewayProxyEventV2): Parsed<SessionStateChange> {
  const body = jsonBody(event, MAX_STATE_BODY_BYTES, 'a JSON object such as {"logLevel": "info"}');
  if (!body.ok) return body;
  // Throws InvalidStateChangeError (an empty body included), which the handler wrapper turns into a 400.
  return { ok: true, value: parseStateChange(body.value) };
}
