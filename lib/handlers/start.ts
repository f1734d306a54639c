import { instrumentHandler, type HttpHandler } from '../http/handler.js';
import { isoTime, json } from '../http/responses.js';
import { startRequest } from '../http/session-input.js';
import type { Logger } from '../logger.js';
import { pathFor, routes } from '../routes.js';
import type { SessionStore } from '../session-store.js';
import type { Telemetry } from '../telemetry.js';

/** POST /sessions: mint a session, optionally bound to an owner and carrying metadata. */
export const createStartHandler = (store: SessionStore, logger: Logger, telemetry?: Telemetry): HttpHandler =>
  instrumentHandler({ logger, telemetry }, async (event, { signal }) => {
    const input = startRequest(event);
    if (!input.ok) return input.response;
    const session = await store.start({ ...input.value, signal });
    return json(
      201,
      { sessionId: session.sessionId, expiresAt: isoTime(session.expiresAt) },
      // Relative (RFC 3986), so it resolves under whatever base path a custom domain maps us to:
      // POST /v1/sessions -> /v1/sessions/{id}; an absolute /sessions/{id} would lose the /v1.
      { location: pathFor(routes.check, { sessionId: session.sessionId }).slice(1) },
    );
  });

