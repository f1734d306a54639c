import { instrumentHandler, type HttpHandler } from '../http/handler.js';
import { noContent } from '../http/responses.js';
import { streamRequest } from '../http/stream-input.js';
import type { Logger } from '../logger.js';
import type { SessionStreams } from '../session-streams.js';
import type { Telemetry } from '../telemetry.js';

/** DELETE /sessions/{sessionId}/streams/{streamId}: 204, whether or not the stream had messages (removing is idempotent). */
export const createRemoveStreamHandler = (streams: SessionStreams, logger: Logger, telemetry?: Telemetry): HttpHandler =>
  instrumentHandler({ logger, telemetry }, async (event, { signal }) => {
    const target = streamRequest(event);
    if (!target.ok) return target.response;
    const { sessionId, streamId } = target.value;
    await streams.removeStream(sessionId, streamId, { signal });
    return noContent();
  });
