import { getRequestListener } from '@hono/node-server';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Serves a Web-standard handler (such as a session gate) from Node's http server. The conversion
 * is Hono's node adapter, which the MCP SDK itself depends on.
 */
export const toNodeListener = (
  handler: (request: Request) => Promise<Response>,
): ((request: IncomingMessage, response: ServerResponse) => Promise<void>) => getRequestListener(handler);
