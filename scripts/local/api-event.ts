import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { pathFor, routeKey, routes, streamIdSegment, type RouteName } from '../../lib/routes.js';

export interface EventOptions {
  sessionId?: string;
  /** The stream id itself; the event carries it encoded, as the path does (routes.ts, streamIdSegment). */
  streamId?: string;
  /** The `{streamId}` path parameter exactly as given, for tests of malformed ones. */
  streamSegment?: string;
  query?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
  headers?: Record<string, string>;
}

/** An HTTP API (payload 2.0) event for one of our routes, shaped as API Gateway sends it; for tests and the benchmark. */
export function apiEvent(name: RouteName, options: EventOptions = {}): APIGatewayProxyEventV2 {
  const route = routes[name];
  const parameters: Record<string, string> = {};
  if (options.sessionId !== undefined) parameters.sessionId = options.sessionId;
  const segment = options.streamSegment ?? (options.streamId !== undefined ? streamIdSegment(options.streamId) : undefined);
  if (segment !== undefined) parameters.streamId = segment;
  const pathParameters = Object.keys(parameters).length > 0 ? parameters : undefined;
  const rawPath = pathFor(route, pathParameters);
  const rawQueryString = options.query ? new URLSearchParams(options.query).toString() : '';
  return {
    version: '2.0',
    routeKey: routeKey(route),
    rawPath,
    rawQueryString,
    headers: { host: 'example.execute-api.us-east-1.amazonaws.com', ...options.headers },
    ...(options.query ? { queryStringParameters: options.query } : {}),
    ...(pathParameters ? { pathParameters } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'example',
      domainName: 'example.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'example',
      http: { method: route.method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
      requestId: crypto.randomUUID(),
      routeKey: routeKey(route),
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(options.body !== undefined ? { body: options.body } : {}),
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
}
