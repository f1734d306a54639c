import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpHandler } from '../http/handler.js';
import { errorResponse, type HttpResponse } from '../http/responses.js';
import { matchRoute, routeKey, type RouteName } from '../routes.js';

/** API Gateway HTTP APIs refuse payloads over 10 MB; so does the local stand-in. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export type RouteHandlers = Record<RouteName, HttpHandler>;

export interface LocalApi {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * Serves the Lambda handlers over plain HTTP, turning each request into the APIGatewayProxyEventV2
 * an HTTP API (payload 2.0) would send: route key, decoded path parameters, lowercased headers with
 * repeats joined by commas, string body. No authorization: it listens on loopback only.
 */
export async function startLocalApi(handlers: RouteHandlers, options: { port?: number; host?: string } = {}): Promise<LocalApi> {
  const server = createServer((request, response) => {
    serve(handlers, request, response).catch(() => send(response, errorResponse(500, 'internal_error', 'Unexpected error.')));
  });
  server.keepAliveTimeout = 65_000;
  // Requests Node's parser refuses (unknown methods, malformed lines) still get the JSON error shape.
  server.on('clientError', (_error, socket) => {
    if (!socket.writable) return socket.destroy();
    const body = JSON.stringify({ error: 'bad_request', message: 'Malformed HTTP request.' });
    socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(handlers: RouteHandlers, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = parseTarget(request.url ?? '/');
  if (!url) return send(response, errorResponse(400, 'bad_request', 'Malformed request target.'));
  const method = request.method ?? 'GET';
  const body = await readBody(request);
  if (body === 'too-large') return send(response, errorResponse(413, 'payload_too_large', 'The request body is too large.'));
  const match = matchRoute(method, url.pathname);
  if (match === undefined) return send(response, errorResponse(404, 'route_not_found', 'No such route.'));
  if (match === 'method-not-allowed') return send(response, errorResponse(405, 'method_not_allowed', 'Method not allowed on this route.'));
  const event = toEvent(request, url, body, routeKey(match.route), match.pathParameters);
  send(response, await handlers[match.name](event));
}

/** The request target as a URL; a path such as "//x" is a path here, not a host. */
function parseTarget(target: string): URL | undefined {
  try {
    return new URL(target.startsWith('/') ? `http://localhost${target}` : target);
  } catch {
    return undefined;
  }
}

async function readBody(request: IncomingMessage): Promise<string | undefined | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return 'too-large';
    chunks.push(buffer);
  }
  return size === 0 ? undefined : Buffer.concat(chunks).toString('utf8');
}

function toEvent(
  request: IncomingMessage,
  url: URL,
  body: string | undefined,
  key: string,
  pathParameters: Record<string, string> | undefined,
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(request.headersDistinct)) {
    if (values) headers[name.toLowerCase()] = values.join(',');
  }
  const query = url.searchParams.size > 0 ? Object.fromEntries(url.searchParams) : undefined;
  const now = new Date();
  return {
    version: '2.0',
    routeKey: key,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(query ? { queryStringParameters: query } : {}),
    ...(pathParameters ? { pathParameters } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: key,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
  };
}

function send(response: ServerResponse, result: HttpResponse): void {
  const body = result.body === undefined ? undefined : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  response.writeHead(result.statusCode, { ...result.headers, ...(body ? { 'content-length': body.length } : {}) });
  response.end(body);
}
