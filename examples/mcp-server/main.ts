/**
 * `npm run example`: an "everything" MCP server on http://127.0.0.1:${PORT:-3001}/mcp whose sessions
 * - with their log level, subscriptions and streams - live in the session service from `npm start`
 * (MCP_SESSIONS_URL, default http://127.0.0.1:3000). Restart it, or run several with different PORTs
 * behind any load balancer: clients keep their sessions, and a stream, a sampling or elicitation
 * answer, may go to any instance. ALLOWED_HOSTS (comma-separated `host` or `host:port`, or `any`)
 * names the hosts it answers to; default localhost, 127.0.0.1, [::1].
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SessionClient, SessionStreamsClient, type SessionClientOptions } from 'mcp-sessions';
import { toNodeListener } from 'mcp-sessions/mcp';
import { exampleMcpHandler, type ExampleHandler } from './app.js';
import { consoleLogger, probeSessionService, isLoopback } from './session-service.js';

const sessionsUrl = new URL(process.env.MCP_SESSIONS_URL || 'http://127.0.0.1:3000');
const loopback = isLoopback(sessionsUrl);
const service: SessionClientOptions = {
  baseUrl: sessionsUrl.href,
  // The local server does not check signatures; the deployed API requires SigV4. The region comes
  // from an execute-api URL; a custom domain needs MCP_SESSIONS_REGION.
  signing: loopback ? { kind: 'none' } : { kind: 'sigv4', ...(process.env.MCP_SESSIONS_REGION ? { region: process.env.MCP_SESSIONS_REGION } : {}) },
};
const store = new SessionClient(service);
const streams = new SessionStreamsClient(service);
const instance = process.env.INSTANCE || `example-${process.pid}`;

/** ALLOWED_HOSTS: unset or empty keeps the gate's loopback default; `any` is for a proxy that checks Host itself. */
function allowedHostsFromEnv(value: string | undefined): readonly string[] | 'any' | undefined {
  const entries = (value ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0) return undefined;
  return entries.length === 1 && entries[0]?.toLowerCase() === 'any' ? 'any' : entries;
}

let mcp: ExampleHandler;
try {
  const allowedHosts = allowedHostsFromEnv(process.env.ALLOWED_HOSTS);
  mcp = exampleMcpHandler({
    store,
    streams,
    instance,
    logger: consoleLogger(sessionsUrl),
    // Demo only: take the user from a header. A real server uses the principal its auth established.
    principalOf: (request) => request.headers.get('x-demo-user') ?? undefined,
    ...(allowedHosts === undefined ? {} : { allowedHosts }),
  });
} catch (error) {
  if (!(error instanceof RangeError)) throw error;
  // A malformed ALLOWED_HOSTS entry: say which, in one line, rather than a stack trace.
  console.error(`ALLOWED_HOSTS: ${error.message}`);
  process.exit(1);
}

// Fail at once, in one line, rather than with a 503 on every request later.
const problem = await probeSessionService(store, sessionsUrl);
if (problem !== undefined) {
  console.error(problem);
  process.exit(1);
}

const server = createServer(
  toNodeListener(async (request) => {
    if (new URL(request.url).pathname !== '/mcp') return new Response('Not Found', { status: 404 });
    return mcp(request);
  }),
);

server.on('error', (error: NodeJS.ErrnoException) => {
  console.error(`The example cannot listen on PORT ${process.env.PORT ?? 3001}: ${error.code ?? error.message}`);
  process.exit(1);
});
server.listen(Number(process.env.PORT ?? 3001), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`MCP example ${instance} listening on http://127.0.0.1:${port}/mcp (sessions in ${sessionsUrl.origin})`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    // Open SSE streams end (their clients reconnect to another instance), running tools stop.
    void mcp.close().finally(() => server.closeAllConnections());
  });
}
