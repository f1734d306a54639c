import { withErrorResponses, type HttpHandler } from '../lib/http/handler.js';
import { invalidSessionId, isoTime, json } from '../lib/http/responses.js';
import type { Logger } from '../lib/logger.js';
import { createRuntime } from '../lib/runtime.js';
import { isSessionId } from '../lib/session-id.js';
import type { SessionStore } from '../lib/session-store.js';

/** GET /sessions/{sessionId}: 200 while active (sliding the expiry when due), 404 otherwise. */
export const createCheckHandler = (store: SessionStore, logger: Logger): HttpHandler =>
  withErrorResponses(logger, async (event) => {
    const sessionId = event.pathParameters?.sessionId;
    if (!isSessionId(sessionId)) return invalidSessionId();
    const status = await store.check(sessionId);
    return status.active
      ? json(200, { sessionId, active: true, expiresAt: isoTime(status.expiresAt) })
      : json(404, { active: false });
  });

const runtime = createRuntime(process.env);
export const handler = createCheckHandler(runtime.store, runtime.logger);
