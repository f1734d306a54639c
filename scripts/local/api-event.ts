import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { pathFor, routeKey, routes, type RouteName } from '../../lib/routes.js';

export interface EventOptions {
  sessionId?: string;
  body?: string;
  isBase64Encoded?: boolean;
  headers?: Record<string, string>;
}

/** An HTTP API (payload 2.0) event for one of our routes, shaped as API Gateway sends it; for tests and the benchmark. */
export function apiEvent(name: RouteName, options: EventOptions = {}): APIGatewayProxyEventV2 {
  const route = routes[name];
  const pathParameters = options.sessionId === undefined ? undefined : { sessionId: options.sessionId };
  const rawPath = pathFor(route, pathParameters);
  return {
    version: '2.0',
    routeKey: routeKey(route),
    rawPath,
    rawQueryString: '',
    headers: { host: 'example.execute-api.us-east-1.amazonaws.com', ...options.headers },
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
