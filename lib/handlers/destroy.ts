import { instrumentHandler, type HttpHandler } from '../http/handler.js';
import { inactiveSessionResponse, noContent } from '../http/responses.js';
import { sessionRequest } from '../http/session-input.js';
import type { Logger } from '../logger.js';
import type { SessionStore } from '../session-store.js';
import type { Telemetry } from '../telemetry.js';

/**
 * DELETE /sessions/{sessionId}: 204 when it ended a live session of this owner; 404 `{active: false}`
 * when there was none to end (unknown, expired, already ended, or someone else's - left untouched),
 * the same answer as a check gets, so a caller learns nothing more from a destroy than from a check.
 */
export const createDestroyHandler = (store: SessionStore, logger: Logger, telemetry?: Telemetry): HttpHandler =>
  instrumentHandler({ logger, telemetry }, async (event, { signal }) => {
    const input = sessionRequest(event);
    if (!input.ok) return input.response;
    const { sessionId, owner } = input.value;
    const ended = await store.destroy(sessionId, { owner, signal });
    return ended ? noContent() : inactiveSessionResponse();
  });

