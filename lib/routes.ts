/**
 * The HTTP API, declared once: the CDK stack builds its routes and functions from this list, the
 * local server dispatches with it, and the tests build their events from it.
 */
export const routes = {
  start: { method: 'POST', path: '/sessions', entry: 'functions/start.ts' },
  check: { method: 'GET', path: '/sessions/{sessionId}', entry: 'functions/check.ts' },
  destroy: { method: 'DELETE', path: '/sessions/{sessionId}', entry: 'functions/destroy.ts' },
} as const;

export type RouteName = keyof typeof routes;

/** The header that carries the caller's owner on check and destroy (kept out of paths and access logs). */
export const OWNER_HEADER = 'x-session-owner';

/** Seconds a caller should wait before retrying after a 503 (the API's and the gate's). */
export const RETRY_AFTER_SECONDS = 1;
export type Route = (typeof routes)[RouteName];

export const routeNames = Object.keys(routes) as RouteName[];

/** API Gateway's route key, e.g. "GET /sessions/{sessionId}". */
export const routeKey = (route: Route): string => `${route.method} ${route.path}`;

/** The concrete path of a route, e.g. /sessions/abc for the check route. */
export const pathFor = (route: Route, parameters: Record<string, string> = {}): string =>
  route.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(parameters[name] ?? ''));

export interface RouteMatch {
  name: RouteName;
  route: Route;
  pathParameters: Record<string, string> | undefined;
}

/** Matches a request the way API Gateway does: exact segments, one path segment per {parameter}. */
export function matchRoute(method: string, path: string): RouteMatch | 'method-not-allowed' | undefined {
  let pathMatched = false;
  for (const name of routeNames) {
    const route = routes[name];
    const parameters = matchPath(route.path, path);
    if (!parameters) continue;
    pathMatched = true;
    if (route.method === method.toUpperCase()) {
      return { name, route, pathParameters: Object.keys(parameters).length > 0 ? parameters : undefined };
    }
  }
  return pathMatched ? 'method-not-allowed' : undefined;
}

function matchPath(template: string, path: string): Record<string, string> | undefined {
  const want = template.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const parameters: Record<string, string> = {};
  for (const [i, segment] of want.entries()) {
    const actual = got[i] ?? '';
    const name = /^\{(\w+)\}$/.exec(segment)?.[1];
    if (name === undefined) {
      if (segment !== actual) return undefined;
    } else {
      if (actual === '') return undefined;
      parameters[name] = decodeSegment(actual);
    }
  }
  return parameters;
}

/** API Gateway hands handlers decoded path parameters; a malformed escape is passed on as sent. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
