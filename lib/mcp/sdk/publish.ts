import type { JSONRPCNotification } from '@modelcontextprotocol/sdk/types.js';
import type { CallOptions } from '../../session-store.js';
import type { SessionStreams } from '../../session-streams.js';
import { STANDALONE_STREAM_ID, formatEventId } from './stream-events.js';

/**
 * Sends a notification to a session from outside any request (a timer, a queue consumer, another
 * service): appended to the session's standalone stream, which the client's standalone GET (on
 * whichever instance) delivers. Returns the event id. The session's state is not consulted: send
 * `notifications/resources/updated` only for URIs the session subscribed to (its check's state).
 */
export async function publishNotification(streams: SessionStreams, sessionId: string, notification: JSONRPCNotification, options: CallOptions = {}): Promise<string> {
  const seq = await streams.append(sessionId, STANDALONE_STREAM_ID, notification, options);
  return formatEventId(STANDALONE_STREAM_ID, seq);
}
