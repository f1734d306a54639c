/**
 * The HTTP API, declared once: the CDK stack builds its routes and functions from this list, the
 * local server dispatches with it, and the tests build their events from it.
 */
export const routes = {
  start: { method: 'POST', path: '/sessions', entry: 'functions/start.ts' },
  check: { method: 'GET', path: '/sessions/{sessionId}', entry: 'functions/check.ts' },
  destroy: { method: 'DELETE', path: '/sessions/{sessionId}', entry: 'functions/destroy.ts' },
  /** Body: one SessionStateChange; owner header as on check. 200 with the check's body, 404 `{"active":false}`. */
  updateState: { method: 'PATCH', path: '/sessions/{sessionId}/state', entry: 'functions/update-state.ts' },
  /** Body `{"message": <JSON>}`; 201 `{"seq": n}`. `{streamId}` is encoded: see streamIdSegment. */
  appendMessage: { method: 'POST', path: '/sessions/{sessionId}/streams/{streamId}/messages', entry: 'functions/append-message.ts' },
  /** `?after=N&limit=M`; 200 `{"messages": [{"seq", "message"}], "more": boolean}`. */
  readMessages: { method: 'GET', path: '/sessions/{sessionId}/streams/{streamId}/messages', entry: 'functions/read-messages.ts' },
  /** 200 `{"lastSeq": n}` (0 for a stream with no messages). */
  lastSeq: { method: 'GET', path: '/sessions/{sessionId}/streams/{streamId}', entry: 'functions/last-seq.ts' },
  /** 204, whether or not the stream had messages. */
  removeStream: { method: 'DELETE', path: '/sessions/{sessionId}/streams/{streamId}', entry: 'functions/remove-stream.ts' },
} as const;

export type RouteName = keyof typeof routes;

/** The header that carries the caller's owner on check, destroy and updateState (kept out of paths and access logs). */
export const OWNER_HEADER = 'x-session-owner';

/** Seconds a caller should wait before retrying after a 503 (the API's and the gate's). */
export const RETRY_AFTER_SECONDS = 1;
export type Route = (typeof routes)[RouteName];

export const routeNames = Object.keys(routes) as RouteName[];

/** API Gateway's route key, e.g. "GET /sessions/{sessionId}". */
export const routeKey = (route: Route): string => `${route.method} ${route.path}`;

/**
 * The concrete path of a route, e.g. /sessions/abc for the check route. Each parameter is
 * percent-encoded as RFC 3986 wants a path segment (encodeURIComponent leaves `!'()*` alone, which
 * SigV4's canonical form would escape, so a signature over such a path would not verify).
 */
export const pathFor = (route: Route, parameters: Record<string, string> = {}): string =>
  route.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeSegment(parameters[name] ?? ''));

const encodeSegment = (value: string): string =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Stream ids are any visible ASCII but `#` (lib/session-streams.ts), `/`, `?` and `%` included, and
 * API Gateway HTTP APIs decode a path's percent-escapes before routing (an escaped `/` splits the
 * segment, an escaped `?` ends the path). So `{streamId}` carries the id in base64url (RFC 4648 §5,
 * no padding), an alphabet no gateway, proxy or signer rewrites.
 */
export const streamIdSegment = (streamId: string): string => Buffer.from(streamId, 'utf8').toString('base64url');

/** The stream id a `{streamId}` segment encodes; undefined unless it is exactly what streamIdSegment makes. */
export function streamIdFromSegment(segment: string | undefined): string | undefined {
  if (segment === undefined || !/^[A-Za-z0-9_-]{1,256}$/.test(segment)) return undefined;
  const streamId = Buffer.from(segment, 'base64url').toString('utf8');
  // Only the canonical encoding: two segments never name one stream.
  return streamIdSegment(streamId) === segment ? streamId : undefined;
}

/**
 * The largest body a readMessages answer has: a page stops before the message that would pass it
 * (it always holds at least one message; each is at most STREAM_MESSAGE_MAX_BYTES). Well under
 * Lambda's 6 MB response limit, and the most SessionStreamsClient reads of one answer.
 */
export const MESSAGES_PAGE_MAX_BYTES = 4 * 1024 * 1024;

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
