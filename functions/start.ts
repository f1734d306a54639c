import { withErrorResponses, type HttpHandler } from '../lib/http/handler.js';
import { isoTime, json } from '../lib/http/responses.js';
import { startRequest } from '../lib/http/session-input.js';
import type { Logger } from '../lib/logger.js';
import { pathFor, routes } from '../lib/routes.js';
import { createRuntime } from '../lib/runtime.js';
import type { SessionStore } from '../lib/session-store.js';

/** POST /sessions: mint a session, optionally bound to an owner and carrying metadata. */
export const createStartHandler = (store: SessionStore, logger: Logger): HttpHandler =>
  withErrorResponses(logger, async (event) => {
    const input = startRequest(event);
    if (!input.ok) return input.response;
    const session = await store.start(input.value);
    return json(
      201,
      { sessionId: session.sessionId, expiresAt: isoTime(session.expiresAt) },
      { location: pathFor(routes.check, { sessionId: session.sessionId }) },
    );
  });

const runtime = createRuntime(process.env);
export const handler = createStartHandler(runtime.store, runtime.logger);
