import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { streamIdFromSegment } from '../routes.js';
import { STREAM_MESSAGE_MAX_BYTES, STREAM_READ_MAX, STREAM_SEQ_MAX } from '../session-streams.js';
import { errorResponse } from './responses.js';
import { jsonBody, reject, sessionIdOf, type Parsed } from './session-input.js';

/** `{"message": ...}` around the largest message the store takes; larger bodies are refused unread. */
export const MAX_APPEND_BODY_BYTES = STREAM_MESSAGE_MAX_BYTES + 1024;

export interface StreamTarget {
  sessionId: string;
  streamId: string;
}

/** The session id and stream id of a streams request (the stream id in its base64url path form). */
export function streamRequest(event: APIGatewayProxyEventV2): Parsed<StreamTarget> {
  const session = sessionIdOf(event);
  if (!session.ok) return session;
  // STREAM_ID_PATTERN itself is the store's check (InvalidStreamInputError); here only the encoding.
  const streamId = streamIdFromSegment(event.pathParameters?.streamId);
  if (streamId === undefined) return reject(errorResponse(400, 'invalid_stream_id', 'The stream id must be the base64url (no padding) of 1-128 visible ASCII characters other than "#".'));
  return { ok: true, value: { sessionId: session.value, streamId } };
}

/** The message of an append: the body is exactly {"message": <any JSON value>}. */
export function appendRequest(event: APIGatewayProxyEventV2): Parsed<{ message: unknown }> {
  const body = jsonBody(event, MAX_APPEND_BODY_BYTES, '{"message": <JSON>}');
  if (!body.ok) return body;
  const value = body.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length !== 1 || !('message' in value)) {
    return reject(errorResponse(400, 'invalid_body', 'The request body must be {"message": <JSON>}.'));
  }
  return { ok: true, value: { message: value.message } };
}

/** `?after=N&limit=M` of a read: after defaults to 0 (from the start), limit to STREAM_READ_MAX. */
export function readQuery(event: APIGatewayProxyEventV2): Parsed<{ after: number; limit: number }> {
  const query = event.queryStringParameters ?? {};
  const after = whole(query.after, 0);
  if (after === undefined || after > STREAM_SEQ_MAX) return reject(errorResponse(400, 'invalid_seq', `after must be a whole number from 0 to ${STREAM_SEQ_MAX}.`));
  const limit = whole(query.limit, STREAM_READ_MAX);
  if (limit === undefined || limit < 1 || limit > STREAM_READ_MAX) return reject(errorResponse(400, 'invalid_limit', `limit must be a whole number from 1 to ${STREAM_READ_MAX}.`));
  return { ok: true, value: { after, limit } };
}

/** Digits only (no sign, exponent or repeats, which API Gateway joins with commas); the fallback when absent. */
function whole(raw: string | undefined, fallback: number): number | undefined {
  if (raw === undefined) return fallback;
  return /^\d{1,15}$/.test(raw) ? Number(raw) : undefined;
}
