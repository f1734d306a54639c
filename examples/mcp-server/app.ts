import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { sessionTag, type Logger, type SessionStore } from 'mcp-sessions';
import { sessionGate } from 'mcp-sessions/mcp';
import { buildEverythingServer } from './everything/index.js';

export interface ExampleOptions {
  store: SessionStore;
  /** Shown by the `session_info` tool, to tell instances apart. */
  instance: string;
  /** The authenticated principal of a request; initialize without one gets 401. */
  principalOf: (request: Request) => string | undefined;
  logger?: Logger;
  /** Hosts this server answers to (DNS-rebinding protection); default localhost, 127.0.0.1, [::1]. */
  allowedHosts?: readonly string[] | 'any';
}

/** The default when the caller wants no output (tests); Powertools' Logger or any `Logger` fits too. */
const quietLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** The whole example as a Web handler: the session gate in front of the SDK's stateless transport. */
export function exampleMcpHandler(options: ExampleOptions): (request: Request) => Promise<Response> {
  const logger = options.logger ?? quietLogger;
  const gateOptions = {
    store: options.store,
    principalOf: options.principalOf,
    requireOwner: true,
    logger,
    ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts }),
    // Stateless: nothing to release when a session ends; say so (never the whole id: it is a secret).
    onSessionEnded: ({ sessionId }: { sessionId: string }) => logger.info('session ended', { session: sessionTag(sessionId) }),
  };
  return sessionGate(gateOptions, async (request, { session, parsedBody }) => {
    // Stateless instances keep no stream open to push from later: no standalone SSE stream (spec: MAY 405).
    if (request.method === 'GET') return new Response(null, { status: 405, headers: { allow: 'POST, DELETE' } });
    const server = buildEverythingServer(session, options.instance);
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: false });
    await server.connect(transport);
    return transport.handleRequest(request, { parsedBody });
  });
}
