import { instrumentHandler, type HttpHandler } from '../http/handler.js';
import { json } from '../http/responses.js';
import { streamRequest } from '../http/stream-input.js';
import type { Logger } from '../logger.js';
import type { SessionStreams } from '../session-streams.js';
import type { Telemetry } from '../telemetry.js';

/** GET /sessions/{sessionId}/streams/{streamId}: 200 {"lastSeq": n}, 0 for a stream with no messages. */
export const createLastSeqHandler = (streams: SessionStreams, logger: Logger, telemetry?: Telemetry): HttpHandler =>
  instrumentHandler({ logger, telemetry }, async (event, { signal }) => {
    const target = streamRequest(event);
    if (!target.ok) return target.response;
    const { sessionId, streamId } = target.value;
    return json(200, { lastSeq: await streams.lastSeq(sessionId, streamId, { signal }) });
  });
