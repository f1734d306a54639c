import { sessionTag, type Logger, type SessionStore, type SessionStreams } from 'mcp-sessions';
import { sessionGate } from 'mcp-sessions/mcp';
import { sharedSessionHandler } from 'mcp-sessions/mcp/sdk';
import { buildEverythingServer } from './everything/index.js';

export interface ExampleOptions {
  store: SessionStore;
  /** Where the session's streams live: stored SSE events, the standalone stream, relayed answers. */
  streams: SessionStreams;
  /** Shown by the `session_info` tool, to tell instances apart; names this instance in stored streams. */
  instance: string;
  /** The authenticated principal of a request; initialize without one gets 401. */
  principalOf: (request: Request) => string | undefined;
  logger?: Logger;
  /** Hosts this server answers to (DNS-rebinding protection); default localhost, 127.0.0.1, [::1]. */
  allowedHosts?: readonly string[] | 'any';
}

export interface ExampleHandler {
  (request: Request): Promise<Response>;
  /** Ends what is in flight (running tools, relays, served streams), for a clean shutdown. */
  close(): Promise<void>;
}

/** The default when the caller wants no output (tests); Powertools' Logger or any `Logger` fits too. */
const quietLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The whole example as a Web handler: the session gate in front of the shared session handler,
 * which runs a fresh SDK server per request. No instance keeps anything of a session in memory:
 * the session (with its log level and subscriptions) and its streams are in the session service.
 */
export function exampleMcpHandler(options: ExampleOptions): ExampleHandler {
  const logger = options.logger ?? quietLogger;
  const shared = sharedSessionHandler({
    store: options.store,
    streams: options.streams,
    createServer: (session) => buildEverythingServer(session, options.instance),
    instanceId: options.instance,
    logger,
  });
  const gateOptions = {
    store: options.store,
    principalOf: options.principalOf,
    requireOwner: true,
    logger,
    ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts }),
    // Nothing to release here when a session ends (its stream items expire); say so (never the whole id: it is a secret).
    onSessionEnded: ({ sessionId }: { sessionId: string }) => logger.info('session ended', { session: sessionTag(sessionId) }),
  };
  return Object.assign(sessionGate(gateOptions, shared), { close: () => shared.close() });
}
