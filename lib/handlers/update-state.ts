import { instrumentHandler, type HttpHandler } from '../http/handler.js';
import { activeSessionResponse, inactiveSessionResponse } from '../http/responses.js';
import { sessionRequest, stateChangeRequest } from '../http/session-input.js';
import type { Logger } from '../logger.js';
import type { SessionStore } from '../session-store.js';
import type { Telemetry } from '../telemetry.js';

/**
 * PATCH /sessions/{sessionId}/state with one change ({"logLevel"}, {"subscribe"} or {"unsubscribe"}):
 * 200 with the session as a check answers it, the new state included; 404 `{"active": false}` when
 * there is no live session of this owner, the same answer a check gets. A change the store refuses
 * is a 400 with its problem code (e.g. too_many_subscriptions).
 */
export const createUpdateStateHandler = (store: SessionStore, logger: Logger, telemetry?: Telemetry): HttpHandler =>
  instrumentHandler({ logger, telemetry }, async (event, { signal }) => {
    const session = sessionRequest(event);
    if (!session.ok) return session.response;
    const change = stateChangeRequest(event);
    if (!change.ok) return change.response;
    const { sessionId, owner } = session.value;
    const status = await store.updateState(sessionId, change.value, { owner, signal });
    return status.active ? activeSessionResponse(sessionId, status) : inactiveSessionResponse();
  });
