import { describe, expect, it } from 'vitest';
import { matchRoute, pathFor, routeKey, routes } from '../lib/routes.js';

describe('routes', () => {
  it('declares the three operations once, with their API Gateway route keys', () => {
    expect(Object.values(routes).map(routeKey)).toEqual(['POST /sessions', 'GET /sessions/{sessionId}', 'DELETE /sessions/{sessionId}']);
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

  it('builds paths with the parameter encoded', () => {
    expect(pathFor(routes.check, { sessionId: 'a/b' })).toBe('/sessions/a%2Fb');
  });
});
