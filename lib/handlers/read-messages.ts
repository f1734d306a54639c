import { instrumentHandler, type HttpHandler } from '../http/handler.js';
import { jsonText } from '../http/responses.js';
import { readQuery, streamRequest } from '../http/stream-input.js';
import type { Logger } from '../logger.js';
import { MESSAGES_PAGE_MAX_BYTES } from '../routes.js';
import type { SessionStreams, StreamMessage } from '../session-streams.js';
import type { Telemetry } from '../telemetry.js';

/**
 * GET /sessions/{sessionId}/streams/{streamId}/messages?after=N&limit=M: 200
 * {"messages": [{"seq", "message"}, ...], "more": boolean}, oldest first. The page stops before the
 * message that would take the answer past MESSAGES_PAGE_MAX_BYTES (100 messages of 256 KiB would
 * not fit Lambda's 6 MB response); `more` then says the store had more of the ones asked for.
 */
export const createReadMessagesHandler = (streams: SessionStreams, logger: Logger, telemetry?: Telemetry): HttpHandler =>
  instrumentHandler({ logger, telemetry }, async (event, { signal }) => {
    const target = streamRequest(event);
    if (!target.ok) return target.response;
    const query = readQuery(event);
    if (!query.ok) return query.response;
    const { sessionId, streamId } = target.value;
    const messages = await streams.readAfter(sessionId, streamId, query.value.after, { limit: query.value.limit, signal });
    return jsonText(200, messagesPage(messages));
  });

/** The answer's text, every message serialised once: the page is measured as it is written. */
export function messagesPage(messages: readonly StreamMessage[], maxBytes = MESSAGES_PAGE_MAX_BYTES): string {
  const head = '{"messages":[';
  const tail = (more: boolean) => `],"more":${String(more)}}`;
  const parts: string[] = [];
  let size = Buffer.byteLength(head) + Buffer.byteLength(tail(false));
  for (const { seq, message } of messages) {
    const part = JSON.stringify({ seq, message });
    const added = Buffer.byteLength(part) + (parts.length > 0 ? 1 : 0);
    // Always at least one: a single message is at most STREAM_MESSAGE_MAX_BYTES, far below the cap.
    if (parts.length > 0 && size + added > maxBytes) return `${head}${parts.join(',')}${tail(true)}`;
    parts.push(part);
    size += added;
  }
  return `${head}${parts.join(',')}${tail(false)}`;
}
