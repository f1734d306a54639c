import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { RETRY_AFTER_SECONDS } from '../routes.js';
import type { ActiveSession } from '../session-store.js';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number };

// Session state must never be served from a cache: it changes with every check and destroy.
const BASE_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' } as const;

export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => jsonText(statusCode, JSON.stringify(body), headers);

/** A JSON answer whose text is already made (a page of messages is serialised once, while it is measured). */
export const jsonText = (statusCode: number, body: string, headers: Record<string, string> = {}): HttpResponse => ({
  statusCode,
  headers: { ...BASE_HEADERS, ...headers },
  body,
});

export const noContent = (): HttpResponse => ({ statusCode: 204, headers: { 'cache-control': 'no-store' } });

/** Every error has this shape: a machine code to branch on and a sentence for people. */
export const errorResponse = (statusCode: number, error: string, message: string, headers: Record<string, string> = {}): HttpResponse =>
  json(statusCode, { error, message }, headers);

export const invalidSessionId = (): HttpResponse =>
  errorResponse(400, 'invalid_session_id', 'The session id is not one this service issues.');

export const storeUnavailable = (): HttpResponse =>
  errorResponse(503, 'store_unavailable', 'The session store is temporarily unavailable; retry shortly.', {
    'retry-after': String(RETRY_AFTER_SECONDS),
  });

export const internalError = (): HttpResponse => errorResponse(500, 'internal_error', 'Unexpected error.');

export const isoTime = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString();

/** 200 for a live session: what check and updateState answer (metadata and state only when there are any). */
export const activeSessionResponse = (sessionId: string, session: ActiveSession): HttpResponse =>
  json(200, {
    sessionId,
    active: true,
    expiresAt: isoTime(session.expiresAt),
    ...(session.metadata ? { metadata: session.metadata } : {}),
    ...(session.state ? { state: session.state } : {}),
  });

/** 404 for no such session (unknown, ended, expired or someone else's): all the same to the caller. */
export const inactiveSessionResponse = (): HttpResponse => json(404, { active: false });
