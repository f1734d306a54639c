import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { OWNER_HEADER } from '../routes.js';
import { isSessionId } from '../session-id.js';
import { isOwner, parseStartOptions, type OwnerOption, type StartOptions } from '../session-store.js';
import { bodyText } from './handler.js';
import { errorResponse, invalidSessionId, type HttpResponse } from './responses.js';


/** Bigger than any valid start body (8 KB metadata + a 256-character owner), small enough to parse cheaply. */
export const MAX_START_BODY_BYTES = 16 * 1024;

type Parsed<T> = { ok: true; value: T } | { ok: false; response: HttpResponse };

const reject = (response: HttpResponse): { ok: false; response: HttpResponse } => ({ ok: false, response });

/** The session id and owner of a check or destroy request. */
export function sessionRequest(event: APIGatewayProxyEventV2): Parsed<{ sessionId: string } & OwnerOption> {
  const sessionId = event.pathParameters?.sessionId;
  if (!isSessionId(sessionId)) return reject(invalidSessionId());
  const owner = event.headers[OWNER_HEADER];
  if (owner === undefined) return { ok: true, value: { sessionId } };
  if (!isOwner(owner)) return reject(errorResponse(400, 'invalid_owner', `The ${OWNER_HEADER} header must be 1-256 printable ASCII characters with no leading or trailing space.`));
  return { ok: true, value: { sessionId, owner } };
}

/** The optional {owner, metadata} body of a start request. */
export function startRequest(event: APIGatewayProxyEventV2): Parsed<StartOptions> {
  const text = bodyText(event);
  if (Buffer.byteLength(text) > MAX_START_BODY_BYTES) {
    return reject(errorResponse(413, 'payload_too_large', `The request body must be at most ${MAX_START_BODY_BYTES} bytes.`));
  }
  if (text.trim() === '') return { ok: true, value: {} };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return reject(errorResponse(400, 'invalid_body', 'The request body must be empty or a JSON object.'));
  }
  // Throws InvalidStartInputError, which the handler wrapper turns into 400 or 413.
  return { ok: true, value: parseStartOptions(body) };
}
