import { ThrottlingException } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCheckHandler } from '../lib/handlers/check.js';
import { createDestroyHandler } from '../lib/handlers/destroy.js';
import { createStartHandler } from '../lib/handlers/start.js';
import type { HttpHandler } from '../lib/http/handler.js';
import type { HttpResponse } from '../lib/http/responses.js';
import { createTestTable, localClient, storeOn, type StoreFixture, type TestTable } from './support/dynamo.js';
import { apiEvent } from '../scripts/local/api-event.js';
import { CountingTelemetry, DEAD_ENDPOINT, ManualClock, injectAwsError } from './support/fakes.js';

interface Api {
  fixture: StoreFixture;
  telemetry: CountingTelemetry;
  start: HttpHandler;
  check: HttpHandler;
  destroy: HttpHandler;
}

function apiOver(fixture: StoreFixture): Api {
  const telemetry = new CountingTelemetry();
  return {
    fixture,
    telemetry,
    start: createStartHandler(fixture.store, fixture.logger, telemetry),
    check: createCheckHandler(fixture.store, fixture.logger, telemetry),
    destroy: createDestroyHandler(fixture.store, fixture.logger, telemetry),
  };
}

const bodyOf = (response: HttpResponse): unknown => JSON.parse(response.body ?? 'null');

function expectJsonError(response: HttpResponse, status: number, code: string): void {
  expect(response.statusCode).toBe(status);
  expect(response.headers?.['content-type']).toBe('application/json');
  const body = bodyOf(response) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'message']);
  expect(body.error).toBe(code);
  expect(typeof body.message).toBe('string');
}

const MALFORMED_IDS = [
  'not-a-session',
  'A'.repeat(36),
  crypto.randomUUID().toUpperCase(),
  `${crypto.randomUUID()},${crypto.randomUUID()}`,
  `${crypto.randomUUID()}x`,
  'x'.repeat(5000),
  'é'.repeat(36),
  '00000000-0000-0000-0000-000000000000\n',
  '',
];

let table: TestTable;
let api: Api;

beforeAll(async () => {
  table = await createTestTable('handlers');
  api = apiOver(storeOn(table));
});

async function startSession(): Promise<string> {
  const response = await api.start(apiEvent('start'));
  return (bodyOf(response) as { sessionId: string }).sessionId;
}

describe('POST /sessions', () => {
  it('201 with sessionId, ISO 8601 UTC expiresAt and a Location header', async () => {
    const response = await api.start(apiEvent('start'));
    expect(response.statusCode).toBe(201);
    const body = bodyOf(response) as { sessionId: string; expiresAt: string };
    expect(Object.keys(body).sort()).toEqual(['expiresAt', 'sessionId']);
    expect(body.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(Date.parse(body.expiresAt) / 1000).toBe(api.fixture.clock.seconds + 3600);
    expect(response.headers?.location).toBe(`sessions/${body.sessionId}`); // relative: resolves under any base path
    expect(response.headers?.['content-type']).toBe('application/json');
  });

  it.each([['{}'], ['  '], ['{"anything": [1, 2]}'], ['\n{}\n']])('accepts body %j', async (body) => {
    expect((await api.start(apiEvent('start', { body }))).statusCode).toBe(201);
  });

  it('accepts a base64-encoded JSON object body', async () => {
    const body = Buffer.from('{"a":1}').toString('base64');
    expect((await api.start(apiEvent('start', { body, isBase64Encoded: true }))).statusCode).toBe(201);
  });

  it.each([['[]'], ['"text"'], ['null'], ['42'], ['{not json'], ['true']])('400 invalid_body for %j, and stores nothing', async (body) => {
    const { fixture } = api;
    fixture.requests.reset();
    expectJsonError(await api.start(apiEvent('start', { body })), 400, 'invalid_body');
    expect(fixture.requests.total).toBe(0);
  });
});

describe('GET /sessions/{sessionId}', () => {
  it('200 with active: true and the (slid) expiry while active', async () => {
    const sessionId = await startSession();
    const response = await api.check(apiEvent('check', { sessionId }));
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ sessionId, active: true, expiresAt: new Date((api.fixture.clock.seconds + 3600) * 1000).toISOString() });
  });

  it('404 {"active": false} when unknown, destroyed or expired', async () => {
    const unknown = await api.check(apiEvent('check', { sessionId: crypto.randomUUID() }));
    expect(unknown.statusCode).toBe(404);
    expect(bodyOf(unknown)).toEqual({ active: false });

    const destroyed = await startSession();
    await api.destroy(apiEvent('destroy', { sessionId: destroyed }));
    expect((await api.check(apiEvent('check', { sessionId: destroyed }))).statusCode).toBe(404);

    const own = apiOver(storeOn(table));
    const expiring = (bodyOf(await own.start(apiEvent('start'))) as { sessionId: string }).sessionId;
    own.fixture.clock.advance(3600);
    const expired = await own.check(apiEvent('check', { sessionId: expiring }));
    expect(expired.statusCode).toBe(404);
    expect(bodyOf(expired)).toEqual({ active: false });
  });

  it.each(MALFORMED_IDS)('400 invalid_session_id for %j with zero DynamoDB calls', async (sessionId) => {
    api.fixture.requests.reset();
    expectJsonError(await api.check(apiEvent('check', { sessionId })), 400, 'invalid_session_id');
    expect(api.fixture.requests.total).toBe(0);
  });

  it('400 when the path parameter is missing altogether', async () => {
    expectJsonError(await api.check(apiEvent('check')), 400, 'invalid_session_id');
  });
});

describe('DELETE /sessions/{sessionId}', () => {
  it('204 when it ends a live session; 404 {"active": false} for the same one again and for an unknown one', async () => {
    const sessionId = await startSession();
    const ended = await api.destroy(apiEvent('destroy', { sessionId }));
    expect(ended.statusCode).toBe(204);
    expect(ended.body).toBeUndefined();
    for (const id of [sessionId, crypto.randomUUID()]) {
      const response = await api.destroy(apiEvent('destroy', { sessionId: id }));
      expect(response.statusCode).toBe(404);
      expect(bodyOf(response)).toEqual({ active: false });
      expect(response.headers?.['cache-control']).toBe('no-store');
    }
    expect((await api.check(apiEvent('check', { sessionId }))).statusCode).toBe(404);
  });

  it('404 for an expired session, which it leaves to the sweep', async () => {
    const clock = new ManualClock();
    const own = apiOver(storeOn(table, { clock, ttlSeconds: 60 }));
    const sessionId = (bodyOf(await own.start(apiEvent('start'))) as { sessionId: string }).sessionId;
    clock.advance(61);
    expect((await own.destroy(apiEvent('destroy', { sessionId }))).statusCode).toBe(404);
  });

  it.each(MALFORMED_IDS)('400 invalid_session_id for %j with zero DynamoDB calls', async (sessionId) => {
    api.fixture.requests.reset();
    expectJsonError(await api.destroy(apiEvent('destroy', { sessionId })), 400, 'invalid_session_id');
    expect(api.fixture.requests.total).toBe(0);
  });
});

describe('metrics and request logs', () => {
  it('count each outcome once per request and log one line per request without the session id', async () => {
    const own = apiOver(storeOn(table));
    const sessionId = (bodyOf(await own.start(apiEvent('start'))) as { sessionId: string }).sessionId;
    await own.check(apiEvent('check', { sessionId }));
    await own.check(apiEvent('check', { sessionId: crypto.randomUUID() }));
    await own.destroy(apiEvent('destroy', { sessionId }));
    await own.check(apiEvent('check', { sessionId: 'bad' }));
    expect(own.telemetry.counts).toEqual({ SessionsStarted: 1, ChecksActive: 1, ChecksInactive: 1, Destroys: 1 });
    expect(own.telemetry.flushes).toBe(5);
    const lines = own.fixture.logger.lines.filter((l) => l.message === 'request');
    expect(lines.map((l) => l.attributes.status)).toEqual([201, 200, 404, 204, 400]);
    expect(lines[1]?.attributes).toMatchObject({ route: 'GET /sessions/{sessionId}', session: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(JSON.stringify(own.fixture.logger.lines)).not.toContain(sessionId);
  });
});

describe('owner and metadata over HTTP', () => {
  const owned = async (body: unknown): Promise<string> => {
    const response = await api.start(apiEvent('start', { body: JSON.stringify(body) }));
    expect(response.statusCode).toBe(201);
    return (bodyOf(response) as { sessionId: string }).sessionId;
  };

  it('POST stores owner and metadata; GET with the owner header returns the metadata', async () => {
    const metadata = { protocolVersion: '2025-11-25', clientInfo: { name: 'c', version: '1' }, capabilities: {} };
    const sessionId = await owned({ owner: 'alice', metadata });
    const response = await api.check(apiEvent('check', { sessionId, headers: { 'x-session-owner': 'alice' } }));
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toMatchObject({ sessionId, active: true, metadata });
  });

  it('a different or missing owner gets exactly the unknown-session answer, and cannot destroy', async () => {
    const sessionId = await owned({ owner: 'alice' });
    const unknown = await api.check(apiEvent('check', { sessionId: crypto.randomUUID(), headers: { 'x-session-owner': 'mallory' } }));
    const unknownDestroy = await api.destroy(apiEvent('destroy', { sessionId: crypto.randomUUID(), headers: { 'x-session-owner': 'mallory' } }));
    for (const headers of [{ 'x-session-owner': 'mallory' }, {}] as Record<string, string>[]) {
      const response = await api.check(apiEvent('check', { sessionId, headers }));
      expect(response).toEqual(unknown);
      expect(await api.destroy(apiEvent('destroy', { sessionId, headers }))).toEqual(unknownDestroy);
    }
    expect((await api.check(apiEvent('check', { sessionId, headers: { 'x-session-owner': 'alice' } }))).statusCode).toBe(200);
  });

  it('413 metadata_too_large over 8 KB, 413 payload_too_large over 16 KB, 400 for a bad owner', async () => {
    api.fixture.requests.reset();
    expectJsonError(await api.start(apiEvent('start', { body: JSON.stringify({ metadata: { b: 'x'.repeat(9000) } }) })), 413, 'metadata_too_large');
    expectJsonError(await api.start(apiEvent('start', { body: JSON.stringify({ metadata: { b: 'x'.repeat(20_000) } }) })), 413, 'payload_too_large');
    expectJsonError(await api.start(apiEvent('start', { body: JSON.stringify({ owner: 42 }) })), 400, 'invalid_owner');
    expectJsonError(await api.start(apiEvent('start', { body: JSON.stringify({ metadata: 'text' }) })), 400, 'invalid_metadata');
    expectJsonError(await api.check(apiEvent('check', { sessionId: crypto.randomUUID(), headers: { 'x-session-owner': 'é' } })), 400, 'invalid_owner');
    // Owners HTTP would trim on the way back cannot be bound: the session would be unreachable.
    for (const owner of [' alice', 'alice ', ' ']) {
      expectJsonError(await api.start(apiEvent('start', { body: JSON.stringify({ owner }) })), 400, 'invalid_owner');
    }
    expect(api.fixture.requests.total).toBe(0);
  });
});

describe('the store failing', () => {
  const leaks = (response: HttpResponse, tableName: string) =>
    [tableName, 'ECONNREFUSED', 'Throttling', 'Exception', 'stack', 'dynamodb', '127.0.0.1'].filter((s) => (response.body ?? '').includes(s));

  async function expectUnavailable(handlers: Api, tableName: string): Promise<void> {
    const sessionId = crypto.randomUUID();
    for (const response of [
      await handlers.start(apiEvent('start')),
      await handlers.check(apiEvent('check', { sessionId })),
      await handlers.destroy(apiEvent('destroy', { sessionId })),
    ]) {
      expectJsonError(response, 503, 'store_unavailable');
      expect(response.headers?.['retry-after']).toMatch(/^\d+$/);
      expect(leaks(response, tableName)).toEqual([]);
    }
  }

  it('unreachable DynamoDB: 503 + Retry-After on every route, never 404 or 200, nothing internal leaked', async () => {
    const dead = apiOver(storeOn(table, { raw: localClient({ endpoint: DEAD_ENDPOINT, maxAttempts: 2 }) }));
    await expectUnavailable(dead, table.tableName);
    // Operators still learn what failed: one warning per failed request, naming the error class only.
    const logged = dead.fixture.logger.lines.filter((l) => l.message === 'session store unavailable');
    expect(logged.map((l) => [l.level, l.attributes.status])).toEqual([['error', 503], ['error', 503], ['error', 503]]);
    expect(dead.telemetry.counts).toEqual({ StoreErrors: 3 });
  });

  it('throttled DynamoDB (after the SDK retries): 503 + Retry-After on every route', async () => {
    const raw = localClient({ maxAttempts: 2 });
    const injected = ['PutItemCommand', 'GetItemCommand', 'DeleteItemCommand'].map((command) =>
      injectAwsError(raw, command, () => new ThrottlingException({ message: 'Rate exceeded', $metadata: {} })),
    );
    await expectUnavailable(apiOver(storeOn(table, { raw, pruneScanLimit: 0 })), table.tableName);
    expect(injected.map((i) => i.attempts())).toEqual([2, 2, 2]);
  });
});
