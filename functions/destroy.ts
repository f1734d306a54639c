import { withErrorResponses, type HttpHandler } from '../lib/http/handler.js';
import { noContent } from '../lib/http/responses.js';
import { sessionRequest } from '../lib/http/session-input.js';
import type { Logger } from '../lib/logger.js';
import { createRuntime } from '../lib/runtime.js';
import type { SessionStore } from '../lib/session-store.js';

/** DELETE /sessions/{sessionId}: 204 whether or not there was such a session of this owner (idempotent). */
export const createDestroyHandler = (store: SessionStore, logger: Logger): HttpHandler =>
  withErrorResponses(logger, async (event) => {
    const input = sessionRequest(event);
    if (!input.ok) return input.response;
    const { sessionId, owner } = input.value;
    await store.destroy(sessionId, { owner });
    return noContent();
  });

const runtime = createRuntime(process.env);
export const handler = createDestroyHandler(runtime.store, runtime.logger);
