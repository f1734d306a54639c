import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, type HttpResponse } from '../lib/http/responses.js';
import { BODY_LIMITS, localErrors, startLocalApi, type LocalApi } from '../scripts/local/api-server.js';
import { rawExchange, type RawResponse } from './support/raw-http.js';
import { routeKey, routes, streamIdSegment } from '../lib/routes.js';
import { localApiOverRealHandlers } from './support/local-api.js';

describe('local HTTP API over the real handler modules', () => {
  let api: LocalApi;

  beforeAll(async () => {
    api = await localApiOverRealHandlers('local-api');
  });
  afterAll(() => api.close());

  it('POST -> GET -> DELETE -> GET, with the contract status codes', async () => {
    const created = await fetch(`${api.url}/sessions`, { method: 'POST' });
    expect(created.status).toBe(201);
    const { sessionId } = (await created.json()) as { sessionId: string };
    // Relative, so it resolves under a custom domain's base path: /sessions + sessions/{id} = /sessions/{id}.
    expect(created.headers.get('location')).toBe(`sessions/${sessionId}`);
    expect(new URL(created.headers.get('location') ?? '', `${api.url}/sessions`).pathname).toBe(`/sessions/${sessionId}`);

    const checked = await fetch(`${api.url}/sessions/${sessionId}`);
    expect(checked.status).toBe(200);
    expect(await checked.json()).toMatchObject({ sessionId, active: true });

    expect((await fetch(`${api.url}/sessions/${sessionId}`, { method: 'DELETE' })).status).toBe(204);
    const again = await fetch(`${api.url}/sessions/${sessionId}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ active: false });
    const gone = await fetch(`${api.url}/sessions/${sessionId}`);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({ active: false });
  });

  it('400 for malformed ids and bodies, as JSON errors', async () => {
    for (const [path, init] of [
      ['/sessions/nope', {}],
      ['/sessions/%E2%9C%93', { method: 'DELETE' }],
      ['/sessions/%ZZ', {}],
      ['/sessions', { method: 'POST', body: '[1]' }],
    ] as const) {
      const response = await fetch(`${api.url}${path}`, init);
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(Object.keys((await response.json()) as object).sort()).toEqual(['error', 'message']);
    }
  });

  it('PATCH state and the streams routes, through the real handler modules and both tables', async () => {
    const created = await fetch(`${api.url}/sessions`, { method: 'POST', body: JSON.stringify({ owner: 'alice' }) });
    const { sessionId } = (await created.json()) as { sessionId: string };
    const owner = { 'x-session-owner': 'alice' };
    const patched = await fetch(`${api.url}/sessions/${sessionId}/state`, { method: 'PATCH', headers: owner, body: '{"subscribe":"test://r"}' });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ sessionId, active: true, state: { subscriptions: ['test://r'] } });
    const checked = await fetch(`${api.url}/sessions/${sessionId}`, { headers: owner });
    expect(await checked.json()).toMatchObject({ state: { subscriptions: ['test://r'] } });
    const stranger = await fetch(`${api.url}/sessions/${sessionId}/state`, { method: 'PATCH', body: '{"logLevel":"info"}' });
    expect(stranger.status).toBe(404);
    expect(await stranger.json()).toEqual({ active: false });

    const stream = `${api.url}/sessions/${sessionId}/streams/${streamIdSegment('relay:x/y')}`;
    for (const [i, message] of ['a', { b: 1 }].entries()) {
      const appended = await fetch(`${stream}/messages`, { method: 'POST', body: JSON.stringify({ message }) });
      expect(appended.status).toBe(201);
      expect(await appended.json()).toEqual({ seq: i + 1 });
    }
    const read = await fetch(`${stream}/messages?after=1&limit=10`);
    expect(read.status).toBe(200);
    expect(read.headers.get('cache-control')).toBe('no-store');
    expect(await read.json()).toEqual({ messages: [{ seq: 2, message: { b: 1 } }], more: false });
    expect(await (await fetch(stream)).json()).toEqual({ lastSeq: 2 });
    expect((await fetch(stream, { method: 'DELETE' })).status).toBe(204);
    expect(await (await fetch(stream)).json()).toEqual({ lastSeq: 0 });
    const bad = await fetch(`${api.url}/sessions/${sessionId}/streams/not%2Fbase64/messages`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_stream_id' });
  });

  it('unknown routes get 404 and wrong methods 405 with Allow naming the methods the path supports', async () => {
    const missing = await fetch(`${api.url}/nothing-here`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'route_not_found' });
    const wrong = await fetch(`${api.url}/sessions`, { method: 'PUT' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(await wrong.json()).toMatchObject({ error: 'method_not_allowed' });
    const patch = await fetch(`${api.url}/sessions/${randomUUID()}`, { method: 'PATCH' });
    expect(patch.status).toBe(405);
    expect(patch.headers.get('allow')).toBe('GET, DELETE');
    const messages = await fetch(`${api.url}/sessions/${randomUUID()}/streams/cw/messages`, { method: 'DELETE' });
    expect(messages.status).toBe(405);
    expect(messages.headers.get('allow')).toBe('POST, GET');
  });

  it('a server given only the session routes answers the others 404 route_not_found, as an API without them would', async () => {
    const reply = async () => json(200, {});
    const sessionsOnly = await startLocalApi({ start: reply, check: reply, destroy: reply }, { port: 0 });
    try {
      const response = await fetch(`${sessionsOnly.url}/sessions/${randomUUID()}/streams/cw`);
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: 'route_not_found' });
    } finally {
      await sessionsOnly.close();
    }
  });
});

describe('errors the local server answers itself', () => {
  const throwingHandler = async (): Promise<HttpResponse> => {
    throw new Error('a bug in a handler');
  };
  let api: LocalApi;
  beforeAll(async () => {
    // Handlers that throw, to reach the server's own 500; 300 ms to send a request, to reach its 408.
    api = await startLocalApi({ start: throwingHandler, check: throwingHandler, destroy: throwingHandler }, { port: 0, requestTimeoutMs: 300 });
  });
  afterAll(() => api.close());

  const raw = (request: string) => rawExchange(api.url, request).response();
  const cases: [string, () => Promise<RawResponse>, number, string][] = [
    ['a request line Node cannot parse', () => raw('BREW /sessions HTTP/1.1\r\nhost: x\r\n\r\n'), 400, 'bad_request'],
    ['a request target that is not a path', () => raw('GET * HTTP/1.1\r\nhost: x\r\n\r\n'), 400, 'bad_request'],
    ['no such route', () => raw('GET /nothing-here HTTP/1.1\r\nhost: x\r\n\r\n'), 404, 'route_not_found'],
    ['a method the route does not serve', () => raw('PUT /sessions HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n'), 405, 'method_not_allowed'],
    ['a request that takes too long to arrive', () => raw('GET /sessions/x HTTP/1.1\r\nhost: x\r\n'), 408, 'request_timeout'],
    ['a body over the route\'s limit', () => raw(`POST /sessions HTTP/1.1\r\nhost: x\r\ncontent-length: ${BODY_LIMITS.start + 1}\r\n\r\n`), 413, 'payload_too_large'],
    ['headers over Node\'s 16 KiB limit', () => raw(`GET /sessions/x HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`), 431, 'headers_too_large'],
    ['a handler that throws', () => raw('GET /sessions/x HTTP/1.1\r\nhost: x\r\n\r\n'), 500, 'internal_error'],
  ];

  it.each(cases)('%s: JSON error with cache-control: no-store', async (_, send, status, code) => {
    const response = await send();
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers['cache-control']).toBe('no-store');
    const body = JSON.parse(response.body) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['error', 'message']);
    expect(body.error).toBe(code);
    if (status === 405) expect(response.headers.allow).toBe('POST');
  });

  it('every error the local server can produce is one of the cases above and is in the README error table', async () => {
    const produced = new Set(cases.map(([, , , code]) => code));
    const declared = [
      localErrors.badRequest(),
      localErrors.badTarget(),
      localErrors.routeNotFound(),
      localErrors.methodNotAllowed('/sessions'),
      localErrors.requestTimeout(),
      localErrors.payloadTooLarge(1),
      localErrors.headersTooLarge(),
    ].map((response) => (JSON.parse(response.body ?? '{}') as { error: string }).error);
    expect(Object.keys(localErrors)).toHaveLength(declared.length);
    expect(new Set([...declared, 'internal_error'])).toEqual(produced);
    const tableRows = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    for (const code of produced) expect(tableRows.some((row) => row.includes(`\`${code}\``)), `README error table row for ${code}`).toBe(true);
  });
});

describe('the APIGatewayProxyEventV2 the local server builds', () => {
  it('has the route key, decoded path parameters, lowercased and comma-joined headers, and a string body', async () => {
    const seen: APIGatewayProxyEventV2[] = [];
    const record = async (event: APIGatewayProxyEventV2) => {
      seen.push(event);
      return json(200, {});
    };
    const api = await startLocalApi({ start: record, check: record, destroy: record }, { port: 0 });
    try {
      // Two separate header lines (fetch would fold them into one before sending).
      await new Promise<void>((resolve, reject) => {
        const url = new URL(`${api.url}/sessions/abc%2Cdef?x=1&y=2&x=3`);
        request(url, { headers: { 'X-Custom': ['a', 'b'], 'Content-Type': 'application/json' } }, (response) => {
          response.resume().on('end', resolve);
        })
          .on('error', reject)
          .end();
      });
      await fetch(`${api.url}/sessions`, { method: 'POST', body: '{"k":"v"}' });
    } finally {
      await api.close();
    }
    const [check, start] = seen;
    expect(check).toMatchObject({
      version: '2.0',
      routeKey: routeKey(routes.check),
      rawPath: '/sessions/abc%2Cdef',
      rawQueryString: 'x=1&y=2&x=3',
      queryStringParameters: { x: '1,3', y: '2' },
      pathParameters: { sessionId: 'abc,def' },
      isBase64Encoded: false,
      requestContext: { routeKey: routeKey(routes.check), http: { method: 'GET', path: '/sessions/abc%2Cdef' }, stage: '$default' },
    });
    expect(check?.headers['x-custom']).toBe('a,b');
    expect(check?.headers['content-type']).toBe('application/json');
    expect(check?.body).toBeUndefined();
    expect(start).toMatchObject({ routeKey: 'POST /sessions', body: '{"k":"v"}' });
    expect(start?.pathParameters).toBeUndefined();
  });
});
