import { instrumentHandler, type HttpHandler } from '../http/handler.js';
import { json } from '../http/responses.js';
import { appendRequest, streamRequest } from '../http/stream-input.js';
import type { Logger } from '../logger.js';
import type { SessionStreams } from '../session-streams.js';
import type { Telemetry } from '../telemetry.js';

/** POST /sessions/{sessionId}/streams/{streamId}/messages with {"message": <JSON>}: 201 {"seq": n}. */
export const createAppendMessageHandler = (streams: SessionStreams, logger: Logger, telemetry?: Telemetry): HttpHandler =>
  instrumentHandler({ logger, telemetry }, async (event, { signal }) => {
    const target = streamRequest(event);
    if (!target.ok) return target.response;
    const body = appendRequest(event);
    if (!body.ok) return body.response;
    const { sessionId, streamId } = target.value;
    // Throws InvalidStreamInputError (a bad stream id, a message over the limit): a 400 or 413.
    const seq = await streams.append(sessionId, streamId, body.value.message, { signal });
    return json(201, { seq });
  });
