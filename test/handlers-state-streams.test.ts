import { ThrottlingException } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAppendMessageHandler } from '../lib/handlers/append-message.js';
import { createLastSeqHandler } from '../lib/handlers/last-seq.js';
import { createReadMessagesHandler, messagesPage } from '../lib/handlers/read-messages.js';
import { createRemoveStreamHandler } from '../lib/handlers/remove-stream.js';
import { createStartHandler } from '../lib/handlers/start.js';
import { createUpdateStateHandler } from '../lib/handlers/update-state.js';
import { createCheckHandler } from '../lib/handlers/check.js';
import type { HttpHandler } from '../lib/http/handler.js';
import type { HttpResponse } from '../lib/http/responses.js';
import { MAX_STATE_BODY_BYTES } from '../lib/http/session-input.js';
import { MAX_APPEND_BODY_BYTES } from '../lib/http/stream-input.js';
import { MESSAGES_PAGE_MAX_BYTES } from '../lib/routes.js';
import { SUBSCRIPTIONS_MAX } from '../lib/session-store.js';
import { STREAM_MESSAGE_MAX_BYTES, STREAM_READ_MAX, STREAM_SEQ_MAX } from '../lib/session-streams.js';
import { apiEvent } from '../scripts/local/api-event.js';
import { createStreamsTestTable, createTestTable, localClient, storeOn, streamsOn, type StoreFixture, type StreamsFixture, type TestTable } from './support/dynamo.js';
import { CountingTelemetry, DEAD_ENDPOINT, injectAwsError } from './support/fakes.js';

interface Api {
  store: StoreFixture;
  streamsFixture: StreamsFixture;
  telemetry: CountingTelemetry;
  start: HttpHandler;
  check: HttpHandler;
  updateState: HttpHandler;
  appendMessage: HttpHandler;
  readMessages: HttpHandler;
  lastSeq: HttpHandler;
  removeStream: HttpHandler;
}

function apiOver(store: StoreFixture, streamsFixture: StreamsFixture): Api {
  const telemetry = new CountingTelemetry();
  const { streams, logger } = streamsFixture;
  return {
    store,
    streamsFixture,
    telemetry,
    start: createStartHandler(store.store, store.logger, telemetry),
    check: createCheckHandler(store.store, store.logger, telemetry),
    updateState: createUpdateStateHandler(store.store, store.logger, telemetry),
    appendMessage: createAppendMessageHandler(streams, logger, telemetry),
    readMessages: createReadMessagesHandler(streams, logger, telemetry),
    lastSeq: createLastSeqHandler(streams, logger, telemetry),
    removeStream: createRemoveStreamHandler(streams, logger, telemetry),
  };
}

const bodyOf = (response: HttpResponse): unknown => JSON.parse(response.body ?? 'null');

function expectJsonError(response: HttpResponse, status: number, code: string): void {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers?.['content-type']).toBe('application/json');
  const body = bodyOf(response) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'message']);
  expect(body.error).toBe(code);
  expect(typeof body.message).toBe('string');
}

let sessions: TestTable;
let streamsTable: TestTable;
let api: Api;

beforeAll(async () => {
  [sessions, streamsTable] = await Promise.all([createTestTable('handlers-state'), createStreamsTestTable('handlers-streams')]);
  api = apiOver(storeOn(sessions), streamsOn(streamsTable));
});

async function startSession(body?: unknown): Promise<string> {
  const response = await api.start(apiEvent('start', body === undefined ? {} : { body: JSON.stringify(body) }));
  return (bodyOf(response) as { sessionId: string }).sessionId;
}

const patch = (sessionId: string, change: unknown, owner?: string) =>
  api.updateState(apiEvent('updateState', { sessionId, body: JSON.stringify(change), ...(owner ? { headers: { 'x-session-owner': owner } } : {}) }));

const append = (sessionId: string, streamId: string, message: unknown) =>
  api.appendMessage(apiEvent('appendMessage', { sessionId, streamId, body: JSON.stringify({ message }) }));

const read = (sessionId: string, streamId: string, query?: Record<string, string>) =>
  api.readMessages(apiEvent('readMessages', { sessionId, streamId, ...(query ? { query } : {}) }));

describe('PATCH /sessions/{sessionId}/state', () => {
  it('200 with the check-shaped body and the new state; check returns the same state afterwards', async () => {
    const sessionId = await startSession({ owner: 'alice', metadata: { a: 1 } });
    const level = await patch(sessionId, { logLevel: 'warning' }, 'alice');
    expect(level.statusCode).toBe(200);
    expect(bodyOf(level)).toEqual({
      sessionId,
      active: true,
      expiresAt: new Date((api.store.clock.seconds + 3600) * 1000).toISOString(),
      metadata: { a: 1 },
      state: { logLevel: 'warning' },
    });
    await patch(sessionId, { subscribe: 'test://b' }, 'alice');
    const subscribed = await patch(sessionId, { subscribe: 'test://a' }, 'alice');
    expect(bodyOf(subscribed)).toMatchObject({ state: { logLevel: 'warning', subscriptions: ['test://a', 'test://b'] } });
    const checked = await api.check(apiEvent('check', { sessionId, headers: { 'x-session-owner': 'alice' } }));
    expect(bodyOf(checked)).toEqual(bodyOf(subscribed));
    const unsubscribed = await patch(sessionId, { unsubscribe: 'test://a' }, 'alice');
    expect(bodyOf(unsubscribed)).toMatchObject({ state: { logLevel: 'warning', subscriptions: ['test://b'] } });
    expect(unsubscribed.headers?.['cache-control']).toBe('no-store');
  });

  it('a check of a session with no state set has no state key', async () => {
    const sessionId = await startSession();
    expect(Object.keys(bodyOf(await api.check(apiEvent('check', { sessionId }))) as object).sort()).toEqual(['active', 'expiresAt', 'sessionId']);
  });

  it('404 {"active": false} for an unknown, destroyed or someone else\'s session, exactly as check answers', async () => {
    const owned = await startSession({ owner: 'alice' });
    const unknown = await patch(crypto.randomUUID(), { logLevel: 'info' });
    expect(unknown.statusCode).toBe(404);
    expect(bodyOf(unknown)).toEqual({ active: false });
    for (const owner of ['mallory', undefined]) expect(await patch(owned, { logLevel: 'info' }, owner)).toEqual(unknown);
    // Left untouched.
    expect(bodyOf(await api.check(apiEvent('check', { sessionId: owned, headers: { 'x-session-owner': 'alice' } })))).not.toHaveProperty('state');
  });

  it.each([
    ['an unknown level', '{"logLevel":"loud"}', 'invalid_log_level'],
    ['two changes', '{"logLevel":"info","subscribe":"x"}', 'invalid_change'],
    ['no change', '{}', 'invalid_change'],
    ['an array', '[]', 'invalid_change'],
    ['no body', '', 'invalid_change'],
    ['an empty URI', '{"subscribe":""}', 'invalid_uri'],
    ['a number for a URI', '{"unsubscribe":42}', 'invalid_uri'],
    ['a URI over 2 KiB', JSON.stringify({ subscribe: `test://${'x'.repeat(2048)}` }), 'uri_too_long'],
    ['not JSON', '{not json', 'invalid_body'],
  ])('400 for %s (%s), with no DynamoDB request', async (_, body, code) => {
    const sessionId = await startSession();
    api.store.requests.reset();
    expectJsonError(await api.updateState(apiEvent('updateState', { sessionId, body })), 400, code);
    expect(api.store.requests.total).toBe(0);
  });

  it('400 for a malformed session id or owner header, 413 over its body limit, before any request', async () => {
    api.store.requests.reset();
    expectJsonError(await patch('nope', { logLevel: 'info' }), 400, 'invalid_session_id');
    expectJsonError(await patch(crypto.randomUUID(), { logLevel: 'info' }, ' alice'), 400, 'invalid_owner');
    expectJsonError(await api.updateState(apiEvent('updateState', { sessionId: crypto.randomUUID(), body: ' '.repeat(MAX_STATE_BODY_BYTES + 1) })), 413, 'payload_too_large');
    expect(api.store.requests.total).toBe(0);
  });

  it('400 too_many_subscriptions past the limit; re-subscribing a URI already in a full set is fine', async () => {
    const sessionId = await startSession();
    for (let i = 0; i < SUBSCRIPTIONS_MAX; i++) expect((await patch(sessionId, { subscribe: `test://${i}` })).statusCode).toBe(200);
    expectJsonError(await patch(sessionId, { subscribe: 'test://one-more' }), 400, 'too_many_subscriptions');
    expect((await patch(sessionId, { subscribe: 'test://7' })).statusCode).toBe(200);
  });
});

describe('the streams routes', () => {
  it('append returns 201 {"seq": n} counting from 1; read returns them in order; lastSeq the newest; remove 204 and then nothing', async () => {
    const sessionId = crypto.randomUUID();
    const streamId = 'relay:a/b?c%d'; // characters a percent-decoding gateway would mangle
    const messages = [{ jsonrpc: '2.0', method: 'x' }, 'text', 42, null, [1, { deep: true }]];
    for (const [i, message] of messages.entries()) {
      const appended = await append(sessionId, streamId, message);
      expect(appended.statusCode).toBe(201);
      expect(bodyOf(appended)).toEqual({ seq: i + 1 });
    }
    const all = await read(sessionId, streamId);
    expect(all.statusCode).toBe(200);
    expect(bodyOf(all)).toEqual({ messages: messages.map((message, i) => ({ seq: i + 1, message })), more: false });
    expect(bodyOf(await read(sessionId, streamId, { after: '3', limit: '1' }))).toEqual({ messages: [{ seq: 4, message: null }], more: false });
    expect(bodyOf(await read(sessionId, streamId, { after: '5' }))).toEqual({ messages: [], more: false });
    expect(bodyOf(await api.lastSeq(apiEvent('lastSeq', { sessionId, streamId })))).toEqual({ lastSeq: 5 });

    const removed = await api.removeStream(apiEvent('removeStream', { sessionId, streamId }));
    expect(removed.statusCode).toBe(204);
    expect(removed.body).toBeUndefined();
    expect(bodyOf(await read(sessionId, streamId))).toEqual({ messages: [], more: false });
    expect(bodyOf(await api.lastSeq(apiEvent('lastSeq', { sessionId, streamId })))).toEqual({ lastSeq: 0 });
    // Removing again (or a stream that never was) is the same 204.
    expect((await api.removeStream(apiEvent('removeStream', { sessionId, streamId }))).statusCode).toBe(204);
  });

  it('streams are separate per session and per stream id', async () => {
    const [one, two] = [crypto.randomUUID(), crypto.randomUUID()];
    await append(one, 's', 'one-s');
    await append(one, 't', 'one-t');
    await append(two, 's', 'two-s');
    expect(bodyOf(await read(one, 's'))).toEqual({ messages: [{ seq: 1, message: 'one-s' }], more: false });
    expect(bodyOf(await read(one, 't'))).toEqual({ messages: [{ seq: 1, message: 'one-t' }], more: false });
    expect(bodyOf(await read(two, 's'))).toEqual({ messages: [{ seq: 1, message: 'two-s' }], more: false });
  });

  it('a read page stops before passing MESSAGES_PAGE_MAX_BYTES and says more; the rest follows after its last seq', async () => {
    const sessionId = crypto.randomUUID();
    const big = 'x'.repeat(STREAM_MESSAGE_MAX_BYTES - 2); // the largest message: its JSON text is exactly the limit
    const count = Math.ceil(MESSAGES_PAGE_MAX_BYTES / STREAM_MESSAGE_MAX_BYTES) + 2;
    for (let i = 0; i < count; i++) expect((await append(sessionId, 'big', big)).statusCode).toBe(201);
    const first = await read(sessionId, 'big');
    expect(Buffer.byteLength(first.body ?? '')).toBeLessThanOrEqual(MESSAGES_PAGE_MAX_BYTES);
    const page = bodyOf(first) as { messages: { seq: number }[]; more: boolean };
    expect(page.more).toBe(true);
    expect(page.messages.length).toBeGreaterThan(0);
    expect(page.messages.length).toBeLessThan(count);
    const last = page.messages.at(-1)?.seq ?? 0;
    const rest = bodyOf(await read(sessionId, 'big', { after: String(last) })) as { messages: { seq: number }[]; more: boolean };
    expect(rest).toMatchObject({ more: false });
    expect([...page.messages, ...rest.messages].map((m) => m.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  });

  it('messagesPage: always at least one message, never past the cap otherwise', () => {
    const messages = [1, 2, 3].map((seq) => ({ seq, message: 'x'.repeat(100) }));
    expect(JSON.parse(messagesPage(messages, 50))).toEqual({ messages: [messages[0]], more: true });
    const two = messagesPage(messages, 300);
    expect(JSON.parse(two)).toEqual({ messages: messages.slice(0, 2), more: true });
    expect(Buffer.byteLength(two)).toBeLessThanOrEqual(300);
    expect(JSON.parse(messagesPage(messages))).toEqual({ messages, more: false });
    expect(JSON.parse(messagesPage([]))).toEqual({ messages: [], more: false });
  });

  it.each([
    ['appendMessage', { body: '{"message":1}' }],
    ['readMessages', {}],
    ['lastSeq', {}],
    ['removeStream', {}],
  ] as const)('%s: 400 invalid_session_id / invalid_stream_id for malformed ids, with no DynamoDB request', async (route, extra) => {
    api.streamsFixture.requests.reset();
    const handler = api[route];
    expectJsonError(await handler(apiEvent(route, { sessionId: 'nope', streamId: 's', ...extra })), 400, 'invalid_session_id');
    for (const streamSegment of ['not*base64', 'YR', 'YQ==', streamSegmentOf('with#hash'), streamSegmentOf('x'.repeat(129)), streamSegmentOf('tab\tin')]) {
      expectJsonError(await handler(apiEvent(route, { sessionId: crypto.randomUUID(), streamSegment, ...extra })), 400, 'invalid_stream_id');
    }
    expectJsonError(await handler(apiEvent(route, { sessionId: crypto.randomUUID(), ...extra })), 400, 'invalid_stream_id');
    expect(api.streamsFixture.requests.total).toBe(0);
  });

  it.each([
    ['an extra key', '{"message":1,"extra":2}', 400, 'invalid_body'],
    ['no message key', '{"msg":1}', 400, 'invalid_body'],
    ['an array', '[1]', 400, 'invalid_body'],
    ['no body', '', 400, 'invalid_body'],
    ['not JSON', '{bad', 400, 'invalid_body'],
    ['a body over the limit', ' '.repeat(MAX_APPEND_BODY_BYTES + 1), 413, 'payload_too_large'],
    ['a message over the limit', JSON.stringify({ message: 'x'.repeat(STREAM_MESSAGE_MAX_BYTES) }), 413, 'message_too_large'],
  ])('append with %s: %i %s, nothing stored', async (_, body, status, code) => {
    const sessionId = crypto.randomUUID();
    expectJsonError(await api.appendMessage(apiEvent('appendMessage', { sessionId, streamId: 's', body })), status, code);
    expect(bodyOf(await api.lastSeq(apiEvent('lastSeq', { sessionId, streamId: 's' })))).toEqual({ lastSeq: 0 });
  });

  it('append accepts a base64-encoded body, as API Gateway may send one', async () => {
    const body = Buffer.from(JSON.stringify({ message: { a: 'é' } })).toString('base64');
    const sessionId = crypto.randomUUID();
    expect((await api.appendMessage(apiEvent('appendMessage', { sessionId, streamId: 's', body, isBase64Encoded: true }))).statusCode).toBe(201);
    expect(bodyOf(await read(sessionId, 's'))).toEqual({ messages: [{ seq: 1, message: { a: 'é' } }], more: false });
  });

  it.each([
    [{ after: '-1' }, 'invalid_seq'],
    [{ after: '1.5' }, 'invalid_seq'],
    [{ after: '1e3' }, 'invalid_seq'],
    [{ after: '1,2' }, 'invalid_seq'],
    [{ after: String(STREAM_SEQ_MAX + 1) }, 'invalid_seq'],
    [{ limit: '0' }, 'invalid_limit'],
    [{ limit: String(STREAM_READ_MAX + 1) }, 'invalid_limit'],
    [{ limit: 'all' }, 'invalid_limit'],
  ])('read: 400 for query %j, with no DynamoDB request', async (query, code) => {
    api.streamsFixture.requests.reset();
    expectJsonError(await read(crypto.randomUUID(), 's', query), 400, code);
    expect(api.streamsFixture.requests.total).toBe(0);
  });

  it('one request log line per call, with a session tag and never the session id', async () => {
    const sessionId = crypto.randomUUID();
    const { logger } = api.streamsFixture;
    const before = logger.lines.length;
    await append(sessionId, 's', 1);
    await read(sessionId, 's');
    const lines = logger.lines.slice(before).filter((l) => l.message === 'request');
    expect(lines.map((l) => [l.attributes.route, l.attributes.status])).toEqual([
      ['POST /sessions/{sessionId}/streams/{streamId}/messages', 201],
      ['GET /sessions/{sessionId}/streams/{streamId}/messages', 200],
    ]);
    expect(JSON.stringify(logger.lines)).not.toContain(sessionId);
  });
});

describe('the store failing', () => {
  const leaks = (response: HttpResponse, tableName: string) =>
    [tableName, 'ECONNREFUSED', 'Throttling', 'Exception', 'stack', 'dynamodb', '127.0.0.1'].filter((s) => (response.body ?? '').includes(s));

  async function expectUnavailable(handlers: Api): Promise<void> {
    const sessionId = crypto.randomUUID();
    const responses = [
      await handlers.updateState(apiEvent('updateState', { sessionId, body: '{"logLevel":"info"}' })),
      await handlers.appendMessage(apiEvent('appendMessage', { sessionId, streamId: 's', body: '{"message":1}' })),
      await handlers.readMessages(apiEvent('readMessages', { sessionId, streamId: 's' })),
      await handlers.lastSeq(apiEvent('lastSeq', { sessionId, streamId: 's' })),
      await handlers.removeStream(apiEvent('removeStream', { sessionId, streamId: 's' })),
    ];
    for (const response of responses) {
      expectJsonError(response, 503, 'store_unavailable');
      expect(response.headers?.['retry-after']).toMatch(/^\d+$/);
      expect(leaks(response, sessions.tableName)).toEqual([]);
      expect(leaks(response, streamsTable.tableName)).toEqual([]);
    }
    expect(handlers.telemetry.counts).toEqual({ StoreErrors: responses.length });
  }

  it('unreachable DynamoDB: 503 + Retry-After on every new route, never 404 or 200, nothing internal leaked', async () => {
    const raw = localClient({ endpoint: DEAD_ENDPOINT, maxAttempts: 2 });
    await expectUnavailable(apiOver(storeOn(sessions, { raw }), streamsOn(streamsTable, { raw })));
  });

  it('throttled DynamoDB (after the SDK retries): 503 + Retry-After on every new route', async () => {
    const raw = localClient({ maxAttempts: 2 });
    const injected = ['UpdateItemCommand', 'PutItemCommand', 'QueryCommand'].map((command) =>
      injectAwsError(raw, command, () => new ThrottlingException({ message: 'Rate exceeded', $metadata: {} })),
    );
    await expectUnavailable(apiOver(storeOn(sessions, { raw }), streamsOn(streamsTable, { raw })));
    expect(injected.every((i) => i.attempts() >= 2)).toBe(true);
  });
});

function streamSegmentOf(id: string): string {
  return Buffer.from(id).toString('base64url');
}
