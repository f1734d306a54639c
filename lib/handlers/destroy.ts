import { instrumentHandler, type HttpHandler } from '../http/handler.js';
import { noContent } from '../http/responses.js';
import { sessionRequest } from '../http/session-input.js';
import type { Logger } from '../logger.js';
import type { SessionStore } from '../session-store.js';
import type { Telemetry } from '../telemetry.js';

/** DELETE /sessions/{sessionId}: 204 whether or not there was such a session of this owner (idempotent). */
export const createDestroyHandler = (store: SessionStore, logger: Logger, telemetry?: Telemetry): HttpHandler =>
  instrumentHandler({ logger, telemetry }, async (event) => {
    const input = sessionRequest(event);
    if (!input.ok) return input.response;
    const { sessionId, owner } = input.value;
    await store.destroy(sessionId, { owner });
    return noContent();
  });

