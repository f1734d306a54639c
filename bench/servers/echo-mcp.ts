import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { createServer } from 'node:http';
import { z } from 'zod';
import { toNodeListener } from '../../lib/mcp/node-adapter.js';

/**
 * The MCP server every bench server runs: a fresh stateless SDK server per request with one `echo`
 * tool, answering in JSON (the example's shape). `parsedBody` is the gate's; bare, the SDK reads the body.
 */
export async function echoMcp(request: Request, parsedBody?: unknown): Promise<Response> {
  const server = new McpServer({ name: 'bench-echo', version: '1.0.0' });
  server.registerTool('echo', { description: 'Echoes the text back', inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  return transport.handleRequest(request, parsedBody === undefined ? undefined : { parsedBody });
}

/** Serves `handler` on 127.0.0.1:$PORT through the same Node adapter the gate's users take, and says so. */
export function serve(name: string, handler: (request: Request) => Promise<Response>): void {
  const server = createServer(toNodeListener(handler));
  server.keepAliveTimeout = 65_000;
  server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`${name} listening on ${process.env.PORT}`));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      server.close(() => process.exit(0));
      server.closeAllConnections();
    });
  }
}
