import { describe, expect, it } from 'vitest';
import { matchRoute, pathFor, routeKey, routes, streamIdFromSegment, streamIdSegment } from '../lib/routes.js';

describe('routes', () => {
  it('declares every operation once, with its API Gateway route key and its own function', () => {
    expect(Object.fromEntries(Object.entries(routes).map(([name, route]) => [name, routeKey(route)]))).toEqual({
      start: 'POST /sessions',
      check: 'GET /sessions/{sessionId}',
      destroy: 'DELETE /sessions/{sessionId}',
      updateState: 'PATCH /sessions/{sessionId}/state',
      appendMessage: 'POST /sessions/{sessionId}/streams/{streamId}/messages',
      readMessages: 'GET /sessions/{sessionId}/streams/{streamId}/messages',
      lastSeq: 'GET /sessions/{sessionId}/streams/{streamId}',
      removeStream: 'DELETE /sessions/{sessionId}/streams/{streamId}',
    });
    const entries = Object.values(routes).map((route) => route.entry);
    expect(new Set(entries).size).toBe(entries.length);
  });

  it('matches the streams routes by segment count and method', () => {
    const segment = streamIdSegment('relay:1');
    expect(matchRoute('PATCH', '/sessions/abc/state')).toMatchObject({ name: 'updateState', pathParameters: { sessionId: 'abc' } });
    expect(matchRoute('POST', `/sessions/abc/streams/${segment}/messages`)).toMatchObject({ name: 'appendMessage', pathParameters: { sessionId: 'abc', streamId: segment } });
    expect(matchRoute('GET', `/sessions/abc/streams/${segment}/messages`)).toMatchObject({ name: 'readMessages' });
    expect(matchRoute('GET', `/sessions/abc/streams/${segment}`)).toMatchObject({ name: 'lastSeq' });
    expect(matchRoute('DELETE', `/sessions/abc/streams/${segment}`)).toMatchObject({ name: 'removeStream' });
    expect(matchRoute('PUT', `/sessions/abc/streams/${segment}`)).toBe('method-not-allowed');
    expect(matchRoute('GET', '/sessions/abc/streams')).toBeUndefined();
  });

  it('carries stream ids in base64url, which no gateway decodes: every visible ASCII id round-trips, and only the canonical form is accepted', () => {
    for (const id of ['_GET_stream', 'relay:abc', crypto.randomUUID(), 'a/b?c%2F d'.replace(' ', '!'), '"!$%&\'()*+,-./:;<=>?@[\\]^_`{|}~']) {
      const segment = streamIdSegment(id);
      expect(segment).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(streamIdFromSegment(segment)).toBe(id);
      expect(pathFor(routes.lastSeq, { sessionId: 's', streamId: segment })).toBe(`/sessions/s/streams/${segment}`);
    }
    // "YQ" is "a"; "YR" decodes to "a" too (its spare bits set), and padding or other alphabets are not ours.
    expect(streamIdFromSegment('YQ')).toBe('a');
    for (const bad of ['YR', 'YQ==', 'Y+Q', 'Y/Q', '', undefined, 'x'.repeat(300)]) expect(streamIdFromSegment(bad)).toBeUndefined();
  });

  it('matches like API Gateway: one segment per parameter, method-sensitive', () => {
    expect(matchRoute('POST', '/sessions')).toMatchObject({ name: 'start', pathParameters: undefined });
    expect(matchRoute('get', '/sessions/abc')).toMatchObject({ name: 'check', pathParameters: { sessionId: 'abc' } });
    expect(matchRoute('DELETE', '/sessions/a%20b')).toMatchObject({ name: 'destroy', pathParameters: { sessionId: 'a b' } });
    expect(matchRoute('GET', '/sessions/a/b')).toBeUndefined();
    expect(matchRoute('GET', '/sessions/')).toBeUndefined();
    expect(matchRoute('GET', '/other')).toBeUndefined();
    expect(matchRoute('PATCH', '/sessions/abc')).toBe('method-not-allowed');
  });

  it('builds paths with the parameter encoded as RFC 3986 wants a segment (also !\'()*, which SigV4 escapes)', () => {
    expect(pathFor(routes.check, { sessionId: 'a/b' })).toBe('/sessions/a%2Fb');
    expect(pathFor(routes.check, { sessionId: "a!'()*b" })).toBe('/sessions/a%21%27%28%29%2Ab');
  });
});
