import { instrumentHandler, type HttpHandler } from '../http/handler.js';
import { activeSessionResponse, inactiveSessionResponse } from '../http/responses.js';
import { sessionRequest } from '../http/session-input.js';
import type { Logger } from '../logger.js';
import type { SessionStore } from '../session-store.js';
import type { Telemetry } from '../telemetry.js';

/** GET /sessions/{sessionId}: 200 while active (sliding the expiry when due) with its metadata and state, 404 otherwise. */
export const createCheckHandler = (store: SessionStore, logger: Logger, telemetry?: Telemetry): HttpHandler =>
  instrumentHandler({ logger, telemetry }, async (event, { signal }) => {
    const input = sessionRequest(event);
    if (!input.ok) return input.response;
    const { sessionId, owner } = input.value;
    const status = await store.check(sessionId, { owner, signal });
    return status.active ? activeSessionResponse(sessionId, status) : inactiveSessionResponse();
  });
