import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpHandler } from '../../lib/http/handler.js';
import { errorResponse, internalError, type HttpResponse } from '../../lib/http/responses.js';
import { MAX_START_BODY_BYTES, MAX_STATE_BODY_BYTES } from '../../lib/http/session-input.js';
import { MAX_APPEND_BODY_BYTES } from '../../lib/http/stream-input.js';
import { matchRoute, routeKey, routeNames, routes, type RouteName } from '../../lib/routes.js';
import { bodyPending, declaredTooLarge, readBoundedBody } from './read-body.js';

/** API Gateway HTTP APIs refuse payloads over 10 MB; so does the local stand-in. */
const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * The most body each route reads. Routes that take a body stop at their own handler's limit, so the
 * server never holds more and the 413 is the same as the handler's; the others ignore bodies and
 * keep API Gateway's.
 */
export const BODY_LIMITS: Readonly<Record<RouteName, number>> = {
  start: MAX_START_BODY_BYTES,
  check: API_GATEWAY_MAX_BODY_BYTES,
  destroy: API_GATEWAY_MAX_BODY_BYTES,
  updateState: MAX_STATE_BODY_BYTES,
  appendMessage: MAX_APPEND_BODY_BYTES,
  readMessages: API_GATEWAY_MAX_BODY_BYTES,
  lastSeq: API_GATEWAY_MAX_BODY_BYTES,
  removeStream: API_GATEWAY_MAX_BODY_BYTES,
};

export type RouteHandlers = Record<RouteName, HttpHandler>;

/**
 * What a server is given: the three session routes always; the others when the caller serves them
 * (a route with no handler answers 404 route_not_found, as an API without that route would).
 */
export type LocalHandlers = Pick<RouteHandlers, 'start' | 'check' | 'destroy'> & Partial<RouteHandlers>;

export interface LocalApi {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export interface LocalApiOptions {
  port?: number;
  host?: string;
  /** How long a client may take to send a whole request (408 after); Node's defaults when absent. */
  requestTimeoutMs?: number;
}

/**
 * Serves the Lambda handlers over plain HTTP, turning each request into the APIGatewayProxyEventV2
 * an HTTP API (payload 2.0) would send: route key, decoded path parameters, lowercased headers and
 * query parameters with repeats joined by commas, string body. No authorization: it listens on loopback only.
 *
 * Every answer it makes itself is a JSON error with `cache-control: no-store` (see localErrors).
 */
export async function startLocalApi(handlers: LocalHandlers, options: LocalApiOptions = {}): Promise<LocalApi> {
  const timeouts: ServerOptions = options.requestTimeoutMs
    ? { requestTimeout: options.requestTimeoutMs, headersTimeout: options.requestTimeoutMs, connectionsCheckingInterval: Math.min(options.requestTimeoutMs, 30_000) }
    : {};
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    serve(handlers, request, response).catch(() => {
      if (response.headersSent) response.destroy();
      else reply(request, response, internalError());
    });
  };
  const server = createServer(timeouts, handle);
  // With this listener Node no longer sends "100 Continue" by itself: serve() sends it only once the
  // route and the declared length are known to be acceptable, so a refused body is never invited.
  server.on('checkContinue', handle);
  server.keepAliveTimeout = 65_000;
  // Requests Node's parser refuses (unknown methods, malformed lines, oversized headers, too slow)
  // still get the JSON error shape.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') return socket.destroy();
    socket.end(rawResponse(clientErrorResponse(error)));
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

/** The errors the local server answers itself, before or instead of a handler; each is in the README's error table. */
export const localErrors = {
  badRequest: (): HttpResponse => errorResponse(400, 'bad_request', 'Malformed HTTP request.'),
  badTarget: (): HttpResponse => errorResponse(400, 'bad_request', 'Malformed request target.'),
  routeNotFound: (): HttpResponse => errorResponse(404, 'route_not_found', 'No such route.'),
  methodNotAllowed: (path: string): HttpResponse =>
    errorResponse(405, 'method_not_allowed', 'Method not allowed on this route.', { allow: allowedMethods(path).join(', ') }),
  requestTimeout: (): HttpResponse => errorResponse(408, 'request_timeout', 'The request took too long to arrive.'),
  payloadTooLarge: (limit: number): HttpResponse => errorResponse(413, 'payload_too_large', `The request body must be at most ${limit} bytes.`),
  headersTooLarge: (): HttpResponse => errorResponse(431, 'headers_too_large', 'The request headers are too large.'),
} as const;

/** The methods some route serves at this path, for a 405's Allow header. */
function allowedMethods(path: string): string[] {
  const methods = routeNames.map((name) => routes[name].method).filter((method) => typeof matchRoute(method, path) === 'object');
  return [...new Set(methods)];
}

async function serve(handlers: LocalHandlers, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = parseTarget(request.url ?? '/');
  if (!url) return reply(request, response, localErrors.badTarget());
  const match = matchRoute(request.method ?? 'GET', url.pathname);
  if (match === undefined) return reply(request, response, localErrors.routeNotFound());
  if (match === 'method-not-allowed') return reply(request, response, localErrors.methodNotAllowed(url.pathname));
  const handler = handlers[match.name];
  if (!handler) return reply(request, response, localErrors.routeNotFound());
  const limit = BODY_LIMITS[match.name];
  if (declaredTooLarge(request, limit)) return reply(request, response, localErrors.payloadTooLarge(limit));
  if (/100-continue/i.test(request.headers.expect ?? '')) response.writeContinue();
  const body = await readBoundedBody(request, limit);
  if (body.kind === 'aborted') return;
  if (body.kind === 'too-large') return reply(request, response, localErrors.payloadTooLarge(limit));
  const event = toEvent(request, url, body.text, routeKey(match.route), match.pathParameters);
  reply(request, response, await handler(event));
}

/** The request target as a URL; a path such as "//x" is a path here, not a host. */
function parseTarget(target: string): URL | undefined {
  try {
    return new URL(target.startsWith('/') ? `http://localhost${target}` : target);
  } catch {
    return undefined;
  }
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
  // API Gateway joins a repeated query parameter's values with commas, as it does headers.
  const query = url.searchParams.size > 0 ? Object.fromEntries([...new Set(url.searchParams.keys())].map((name) => [name, url.searchParams.getAll(name).join(',')])) : undefined;
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

/**
 * Writes a result. Answering before the request's body was read to its end (refused, or over the
 * limit) closes the connection: Node sends the answer, then closes, and the unread rest is never read.
 */
function reply(request: IncomingMessage, response: ServerResponse, result: HttpResponse): void {
  const body = result.body === undefined ? undefined : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  response.writeHead(result.statusCode, {
    ...result.headers,
    ...(body ? { 'content-length': body.length } : {}),
    ...(bodyPending(request) ? { connection: 'close' } : {}),
  });
  response.end(body);
}

function clientErrorResponse(error: NodeJS.ErrnoException): HttpResponse {
  if (error.code === 'HPE_HEADER_OVERFLOW') return localErrors.headersTooLarge();
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return localErrors.requestTimeout();
  return localErrors.badRequest();
}

/** A whole HTTP/1.1 response, for sockets the parser gave up on (no ServerResponse exists for them). */
function rawResponse(result: HttpResponse): string {
  const body = result.body ?? '';
  const headers = { ...result.headers, 'content-length': Buffer.byteLength(body), connection: 'close' };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${String(value)}`);
  return `HTTP/1.1 ${result.statusCode} ${STATUS_CODES[result.statusCode] ?? ''}\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}
