import { withErrorResponses, type HttpHandler } from '../lib/http/handler.js';
import { invalidSessionId, noContent } from '../lib/http/responses.js';
import type { Logger } from '../lib/logger.js';
import { createRuntime } from '../lib/runtime.js';
import { isSessionId } from '../lib/session-id.js';
import type { SessionStore } from '../lib/session-store.js';

/** DELETE /sessions/{sessionId}: 204 whether or not the session existed (idempotent). */
export const createDestroyHandler = (store: SessionStore, logger: Logger): HttpHandler =>
  withErrorResponses(logger, async (event) => {
    const sessionId = event.pathParameters?.sessionId;
    if (!isSessionId(sessionId)) return invalidSessionId();
    await store.destroy(sessionId);
    return noContent();
  });

const runtime = createRuntime(process.env);
export const handler = createDestroyHandler(runtime.store, runtime.logger);
