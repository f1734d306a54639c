/**
 * `npm run example`: an MCP server on http://127.0.0.1:${PORT:-3001}/mcp whose sessions live in the
 * session service from `npm start` (MCP_SESSIONS_URL, default http://127.0.0.1:3000). Restart it, or
 * run several with different PORTs: clients keep their sessions.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SessionClient } from 'mcp-sessions';
import { toNodeListener } from 'mcp-sessions/mcp';
import { exampleMcpHandler } from './app.js';
import { consoleLogger, probeSessionService } from './session-service.js';

const sessionsUrl = new URL(process.env.MCP_SESSIONS_URL || 'http://127.0.0.1:3000');
const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(sessionsUrl.hostname);
const store = new SessionClient({
  baseUrl: sessionsUrl.href,
  // The local server does not check signatures; the deployed API requires SigV4. The region comes
  // from an execute-api URL; a custom domain needs MCP_SESSIONS_REGION.
  signing: loopback ? { kind: 'none' } : { kind: 'sigv4', ...(process.env.MCP_SESSIONS_REGION ? { region: process.env.MCP_SESSIONS_REGION } : {}) },
});
const instance = process.env.INSTANCE || `example-${process.pid}`;

// Fail at once, in one line, rather than with a 503 on every request later.
const problem = await probeSessionService(store, sessionsUrl);
if (problem !== undefined) {
  console.error(problem);
  process.exit(1);
}

const mcp = exampleMcpHandler({
  store,
  instance,
  logger: consoleLogger(sessionsUrl),
  // Demo only: take the user from a header. A real server uses the principal its auth established.
  principalOf: (request) => request.headers.get('x-demo-user') ?? undefined,
});

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
    server.closeAllConnections();
  });
}
