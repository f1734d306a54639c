import type { RouteHandlers } from './api-server.js';

/**
 * Imports the real handler modules, every route's. They read their configuration from process.env
 * at import time, exactly as in Lambda (TABLE_NAME, and STREAMS_TABLE_NAME for the streams routes),
 * so set the environment before calling this.
 */
export async function importHandlers(): Promise<RouteHandlers> {
  const [start, check, destroy, updateState, appendMessage, readMessages, lastSeq, removeStream] = await Promise.all([
    import('../../functions/start.js'),
    import('../../functions/check.js'),
    import('../../functions/destroy.js'),
    import('../../functions/update-state.js'),
    import('../../functions/append-message.js'),
    import('../../functions/read-messages.js'),
    import('../../functions/last-seq.js'),
    import('../../functions/remove-stream.js'),
  ]);
  return {
    start: start.handler,
    check: check.handler,
    destroy: destroy.handler,
    updateState: updateState.handler,
    appendMessage: appendMessage.handler,
    readMessages: readMessages.handler,
    lastSeq: lastSeq.handler,
    removeStream: removeStream.handler,
  };
}
