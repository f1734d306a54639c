import { bodyText, withErrorResponses, type HttpHandler } from '../lib/http/handler.js';
import { errorResponse, isoTime, json } from '../lib/http/responses.js';
import type { Logger } from '../lib/logger.js';
import { pathFor, routes } from '../lib/routes.js';
import { createRuntime } from '../lib/runtime.js';
import type { SessionStore } from '../lib/session-store.js';

/** POST /sessions: mint a session. The body is optional, but if present it must be a JSON object. */
export const createStartHandler = (store: SessionStore, logger: Logger): HttpHandler =>
  withErrorResponses(logger, async (event) => {
    if (!isEmptyOrJsonObject(bodyText(event))) {
      return errorResponse(400, 'invalid_body', 'The request body must be empty or a JSON object.');
    }
    const session = await store.start();
    return json(
      201,
      { sessionId: session.sessionId, expiresAt: isoTime(session.expiresAt) },
      { location: pathFor(routes.check, { sessionId: session.sessionId }) },
    );
  });

function isEmptyOrJsonObject(text: string): boolean {
  if (text.trim() === '') return true;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

const runtime = createRuntime(process.env);
export const handler = createStartHandler(runtime.store, runtime.logger);
