import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '../lib/errors.js';
import { createAppendMessageHandler } from '../lib/handlers/append-message.js';
import { createCheckHandler } from '../lib/handlers/check.js';
import { createDestroyHandler } from '../lib/handlers/destroy.js';
import { createLastSeqHandler } from '../lib/handlers/last-seq.js';
import { createReadMessagesHandler } from '../lib/handlers/read-messages.js';
import { createRemoveStreamHandler } from '../lib/handlers/remove-stream.js';
import { createStartHandler } from '../lib/handlers/start.js';
import { createUpdateStateHandler } from '../lib/handlers/update-state.js';
import type { HttpHandler } from '../lib/http/handler.js';
import { MESSAGES_PAGE_MAX_BYTES, streamIdSegment } from '../lib/routes.js';
import { SessionClient, SessionServiceError } from '../lib/session-client.js';
import { MAX_RESPONSE_BYTES } from '../lib/session-client-response.js';
import { SUBSCRIPTIONS_MAX, InvalidStateChangeError } from '../lib/session-store.js';
import { InvalidStreamInputError, STREAM_MESSAGE_MAX_BYTES, STREAM_READ_MAX, STREAM_SEQ_MAX } from '../lib/session-streams.js';
import { SessionStreamsClient } from '../lib/session-streams-client.js';
import { startLocalApi, type LocalApi } from '../scripts/local/api-server.js';
import { createStreamsTestTable, createTestTable, storeOn, streamsOn, type StoreFixture, type StreamsFixture } from './support/dynamo.js';
import { TEST_CREDENTIALS, expectedAuthorization, scriptedServer, type Reply, type TestServer } from './support/session-client-doubles.js';

const recordSleeps = () => {
  const sleeps: number[] = [];
  return { sleeps, sleep: async (ms: number) => void sleeps.push(ms) };
};

const servers: TestServer[] = [];
const serve = async (...args: Parameters<typeof scriptedServer>) => {
  const server = await scriptedServer(...args);
  servers.push(server);
  return server;
};
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** What a call came to: its value, or what it threw. */
const settle = <T>(call: Promise<T>): Promise<T | unknown> =>
  call.then(
    (value) => value,
    (error: unknown) => error,
  );

/** Counts the HTTP requests a handler served. */
function counted(handler: HttpHandler): HttpHandler & { calls: number } {
  const wrapped = Object.assign(async (...args: Parameters<HttpHandler>) => {
    wrapped.calls++;
    return handler(...args);
  }, { calls: 0 });
  return wrapped;
}

describe('SessionClient.updateState and SessionStreamsClient against the local API over DynamoDB Local', () => {
  let store: StoreFixture;
  let streamsFixture: StreamsFixture;
  let api: LocalApi;
  let client: SessionClient;
  let streams: SessionStreamsClient;
  let readCalls: { calls: number };
  let appendCalls: { calls: number };

  beforeAll(async () => {
    const [sessionsTable, streamsTable] = await Promise.all([createTestTable('client-state'), createStreamsTestTable('client-streams')]);
    store = storeOn(sessionsTable);
    streamsFixture = streamsOn(streamsTable);
    const { logger } = store;
    const readMessages = counted(createReadMessagesHandler(streamsFixture.streams, logger));
    const appendMessage = counted(createAppendMessageHandler(streamsFixture.streams, logger));
    readCalls = readMessages;
    appendCalls = appendMessage;
    api = await startLocalApi(
      {
        start: createStartHandler(store.store, logger),
        check: createCheckHandler(store.store, logger),
        destroy: createDestroyHandler(store.store, logger),
        updateState: createUpdateStateHandler(store.store, logger),
        appendMessage,
        readMessages,
        lastSeq: createLastSeqHandler(streamsFixture.streams, logger),
        removeStream: createRemoveStreamHandler(streamsFixture.streams, logger),
      },
      { port: 0 },
    );
    client = new SessionClient({ baseUrl: api.url, signing: { kind: 'none' } });
    streams = new SessionStreamsClient({ baseUrl: api.url, signing: { kind: 'none' } });
  });
  afterAll(() => api.close());

  describe('SessionClient.updateState', () => {
    it('sets the level and subscriptions, returning the session with its new state; check returns it too', async () => {
      const { sessionId, expiresAt } = await client.start({ owner: 'alice', metadata: { m: 1 } });
      expect(await client.updateState(sessionId, { logLevel: 'error' }, { owner: 'alice' })).toEqual({ active: true, expiresAt, metadata: { m: 1 }, state: { logLevel: 'error' } });
      await client.updateState(sessionId, { subscribe: 'test://b' }, { owner: 'alice' });
      expect(await client.updateState(sessionId, { subscribe: 'test://a' }, { owner: 'alice' })).toMatchObject({ state: { logLevel: 'error', subscriptions: ['test://a', 'test://b'] } });
      expect(await client.check(sessionId, { owner: 'alice' })).toEqual({
        active: true,
        expiresAt,
        metadata: { m: 1 },
        state: { logLevel: 'error', subscriptions: ['test://a', 'test://b'] },
      });
      expect(await client.updateState(sessionId, { unsubscribe: 'test://b' }, { owner: 'alice' })).toMatchObject({ state: { subscriptions: ['test://a'] } });
    });

    it('{ active: false } for an unknown, ended or someone else\'s session, which is left untouched', async () => {
      const { sessionId } = await client.start({ owner: 'alice' });
      expect(await client.updateState(sessionId, { logLevel: 'info' }, { owner: 'bob' })).toEqual({ active: false });
      expect(await client.updateState(sessionId, { logLevel: 'info' })).toEqual({ active: false });
      expect(await client.updateState(crypto.randomUUID(), { logLevel: 'info' })).toEqual({ active: false });
      expect(await client.check(sessionId, { owner: 'alice' })).not.toHaveProperty('state');
      await client.destroy(sessionId, { owner: 'alice' });
      expect(await client.updateState(sessionId, { logLevel: 'info' }, { owner: 'alice' })).toEqual({ active: false });
    });

    it('refuses an invalid change as the store does (InvalidStateChangeError) and a malformed id or owner as inactive, without a request', async () => {
      store.requests.reset();
      const id = crypto.randomUUID();
      for (const [change, problem] of [
        [{ logLevel: 'loud' }, 'invalid_log_level'],
        [{ subscribe: '' }, 'invalid_uri'],
        [{ subscribe: 'x'.repeat(3000) }, 'uri_too_long'],
        [{ logLevel: 'info', subscribe: 'x' }, 'invalid_change'],
        [{}, 'invalid_change'],
      ] as const) {
        await expect(client.updateState(id, change as never)).rejects.toMatchObject({ name: 'InvalidStateChangeError', problem });
      }
      expect(await client.updateState('nope', { logLevel: 'info' })).toEqual({ active: false });
      expect(await client.updateState(id, { logLevel: 'info' }, { owner: ' alice' })).toEqual({ active: false });
      expect(store.requests.total).toBe(0);
    });

    it('the service\'s too_many_subscriptions is the store\'s InvalidStateChangeError', async () => {
      const { sessionId } = await client.start();
      for (let i = 0; i < SUBSCRIPTIONS_MAX; i++) await client.updateState(sessionId, { subscribe: `test://${i}` });
      const error = await settle(client.updateState(sessionId, { subscribe: 'test://more' }));
      expect(error).toBeInstanceOf(InvalidStateChangeError);
      expect(error).toMatchObject({ problem: 'too_many_subscriptions', message: `a session has at most ${SUBSCRIPTIONS_MAX} subscriptions` });
    });
  });

  describe('SessionStreamsClient', () => {
    it('append, readAfter, lastSeq and removeStream round-trip JSON messages under any stream id', async () => {
      const sessionId = crypto.randomUUID();
      for (const streamId of ['_GET_stream', crypto.randomUUID(), 'relay:a/b?c=%2F!(*)', '"\'\\`{}[]|^~<>']) {
        const messages = [{ jsonrpc: '2.0', id: 1, result: { ok: true } }, 'é', 0, null, false, [1, [2]]];
        for (const [i, message] of messages.entries()) expect(await streams.append(sessionId, streamId, message)).toBe(i + 1);
        expect(await streams.readAfter(sessionId, streamId, 0)).toEqual(messages.map((message, i) => ({ seq: i + 1, message })));
        expect(await streams.readAfter(sessionId, streamId, 2, { limit: 2 })).toEqual([
          { seq: 3, message: 0 },
          { seq: 4, message: null },
        ]);
        expect(await streams.lastSeq(sessionId, streamId)).toBe(messages.length);
        await streams.removeStream(sessionId, streamId);
        expect(await streams.readAfter(sessionId, streamId, 0)).toEqual([]);
        expect(await streams.lastSeq(sessionId, streamId)).toBe(0);
        await streams.removeStream(sessionId, streamId); // nothing left: still fine
      }
    });

    it('sees what the in-process streams wrote, and the other way round (one table, one numbering)', async () => {
      const sessionId = crypto.randomUUID();
      expect(await streamsFixture.streams.append(sessionId, 's', 'in-process')).toBe(1);
      expect(await streams.append(sessionId, 's', 'over-http')).toBe(2);
      expect(await streamsFixture.streams.readAfter(sessionId, 's', 0)).toEqual([
        { seq: 1, message: 'in-process' },
        { seq: 2, message: 'over-http' },
      ]);
    });

    it('appends from one client to one stream are applied in call order, concurrent or not', async () => {
      const sessionId = crypto.randomUUID();
      const count = 20;
      const seqs = await Promise.all(Array.from({ length: count }, (_, i) => streams.append(sessionId, 'ordered', i)));
      expect(seqs).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      expect((await streams.readAfter(sessionId, 'ordered', 0)).map((m) => m.message)).toEqual(Array.from({ length: count }, (_, i) => i));
    });

    it('reads the whole `limit` across pages when large messages fill a page, in as few requests as the page cap allows', async () => {
      const sessionId = crypto.randomUUID();
      const big = 'x'.repeat(STREAM_MESSAGE_MAX_BYTES - 2);
      const perPage = Math.floor(MESSAGES_PAGE_MAX_BYTES / (STREAM_MESSAGE_MAX_BYTES + 32));
      const count = perPage * 2 + 1;
      for (let i = 0; i < count; i++) await streams.append(sessionId, 'big', big);
      readCalls.calls = 0;
      const read = await streams.readAfter(sessionId, 'big', 0);
      expect(read.map((m) => m.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      expect(readCalls.calls).toBe(3);
      // A limit stops it early: one page is enough for two.
      readCalls.calls = 0;
      expect(await streams.readAfter(sessionId, 'big', 0, { limit: 2 })).toHaveLength(2);
      expect(readCalls.calls).toBe(1);
    });

    it('refuses input as the in-process streams do, before any request; a limit above the maximum reads the maximum', async () => {
      appendCalls.calls = 0;
      readCalls.calls = 0;
      const id = crypto.randomUUID();
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      const refused: [() => Promise<unknown>, string][] = [
        [() => streams.append('nope', 's', 1), 'invalid_session_id'],
        [() => streams.append(id, 'a#b', 1), 'invalid_stream_id'],
        [() => streams.append(id, '', 1), 'invalid_stream_id'],
        [() => streams.append(id, 'x'.repeat(129), 1), 'invalid_stream_id'],
        [() => streams.append(id, 's', undefined), 'invalid_message'],
        [() => streams.append(id, 's', cycle), 'invalid_message'],
        [() => streams.append(id, 's', 'x'.repeat(STREAM_MESSAGE_MAX_BYTES)), 'message_too_large'],
        [() => streams.readAfter(id, 's', -1), 'invalid_seq'],
        [() => streams.readAfter(id, 's', 1.5), 'invalid_seq'],
        [() => streams.readAfter(id, 's', 0, { limit: 0 }), 'invalid_limit'],
        [() => streams.lastSeq(id, 'with space'), 'invalid_stream_id'],
        [() => streams.removeStream('nope', 's'), 'invalid_session_id'],
      ];
      for (const [call, problem] of refused) {
        const error = await settle(call());
        expect(error, problem).toBeInstanceOf(InvalidStreamInputError);
        expect(error).toMatchObject({ problem });
      }
      expect(appendCalls.calls + readCalls.calls).toBe(0);
      expect(await streams.readAfter(id, 's', STREAM_SEQ_MAX)).toEqual([]);
      expect(readCalls.calls).toBe(0);
      const sessionId = crypto.randomUUID();
      for (let i = 0; i < STREAM_READ_MAX + 5; i++) await streamsFixture.streams.append(sessionId, 'many', i);
      expect(await streams.readAfter(sessionId, 'many', 0, { limit: 1000 })).toHaveLength(STREAM_READ_MAX);
    });
  });
});

describe('SessionStreamsClient: an append is sent again only when it certainly never arrived', () => {
  const created = { status: 201, body: '{"seq":7}' };
  const appendOnce = (server: TestServer, options: Record<string, unknown> = {}) =>
    new SessionStreamsClient({ baseUrl: server.url, signing: { kind: 'none' }, ...recordSleeps(), ...options }).append(crypto.randomUUID(), 's', { m: 1 });

  it.each([
    ['our 503 (the store may have written it)', { status: 503, headers: { 'retry-after': '1' }, body: '{"error":"store_unavailable","message":"x"}' }],
    ['a 500', { status: 500 }],
    ['a 502 from the gateway', { status: 502 }],
    ['a 504', { status: 504 }],
  ] as [string, Reply][])('%s: one request, then StoreUnavailableError', async (_, reply) => {
    const server = await serve([reply, created]);
    expect(await settle(appendOnce(server))).toBeInstanceOf(StoreUnavailableError);
    expect(server.seen).toHaveLength(1);
  });

  it('an attempt timeout (the request may be stored, its answer lost): one request, then StoreUnavailableError', async () => {
    const server = await serve([{ status: 201, hang: true }, created]);
    expect(await settle(appendOnce(server, { timeoutMs: 200 }))).toBeInstanceOf(StoreUnavailableError);
    expect(server.seen).toHaveLength(1);
  });

  it('API Gateway\'s 429 throttle (no function ran) is retried, and the append then succeeds', async () => {
    const server = await serve([{ status: 429, body: '{"message":"Too Many Requests"}' }, created]);
    expect(await appendOnce(server)).toBe(7);
    expect(server.seen).toHaveLength(2);
    expect(server.seen[0]?.body).toBe(server.seen[1]?.body);
  });

  it('a connection never made (refused) is retried up to maxAttempts', async () => {
    const { sleeps, sleep } = recordSleeps();
    const client = new SessionStreamsClient({ baseUrl: await closedPortUrl(), signing: { kind: 'none' }, maxAttempts: 3, sleep });
    expect(await settle(client.append(crypto.randomUUID(), 's', 1))).toBeInstanceOf(StoreUnavailableError);
    expect(sleeps).toHaveLength(2);
  });

  it('a clock-skew rejection (API Gateway\'s, before any function ran) is re-signed and sent once more', async () => {
    const server = await serve((seen, index) =>
      index === 0
        ? { status: 403, headers: { 'x-amzn-errortype': 'InvalidSignatureException', date: new Date(Date.now() + 3_600_000).toUTCString() }, body: '{"message":"Signature expired: 20261124T102030Z is now earlier than ..."}' }
        : { status: seen.headers.authorization === expectedAuthorization(seen, 'eu-west-1') ? 201 : 403, body: '{"seq":1}' },
    );
    const client = new SessionStreamsClient({ baseUrl: server.url, signing: { kind: 'sigv4', region: 'eu-west-1', credentials: TEST_CREDENTIALS } });
    expect(await client.append(crypto.randomUUID(), 's', 1)).toBe(1);
    expect(server.seen).toHaveLength(2);
  });

  it('reads, lastSeq and removes are retried like SessionClient\'s calls', async () => {
    const unavailable = { status: 503, headers: { 'retry-after': '1' } };
    const server = await serve([unavailable, { status: 200, body: '{"messages":[],"more":false}' }, unavailable, { status: 200, body: '{"lastSeq":3}' }, unavailable, { status: 204 }]);
    const { sleeps, sleep } = recordSleeps();
    const client = new SessionStreamsClient({ baseUrl: server.url, signing: { kind: 'none' }, sleep });
    const sessionId = crypto.randomUUID();
    expect(await client.readAfter(sessionId, 's', 0)).toEqual([]);
    expect(await client.lastSeq(sessionId, 's')).toBe(3);
    await client.removeStream(sessionId, 's');
    expect(server.seen.map((seen) => seen.method)).toEqual(['GET', 'GET', 'GET', 'GET', 'DELETE', 'DELETE']);
    expect(sleeps).toEqual([1000, 1000, 1000]);
  });

  it('a caller\'s signal ends an append waiting behind another at once; the one behind it still waits for the first', async () => {
    const order: number[] = [];
    let releaseFirst: () => void = () => undefined;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const { message } = JSON.parse(Buffer.concat(chunks).toString()) as { message: number };
        order.push(message);
        const answer = () => {
          response.writeHead(201, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ seq: order.indexOf(message) + 1 }));
        };
        if (message === 1) releaseFirst = answer;
        else answer();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = new SessionStreamsClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, signing: { kind: 'none' } });
      const sessionId = crypto.randomUUID();
      const first = client.append(sessionId, 's', 1);
      await vi.waitFor(() => expect(order).toEqual([1]));
      const aborted = new AbortController();
      const second = settle(client.append(sessionId, 's', 2, { signal: aborted.signal }));
      const third = client.append(sessionId, 's', 3);
      aborted.abort();
      expect(await second).toBeInstanceOf(StoreUnavailableError);
      expect(order).toEqual([1]); // the third has not been sent: the first is still unanswered
      releaseFirst();
      expect(await first).toBe(1);
      expect(await third).toBe(2);
      expect(order).toEqual([1, 3]); // the aborted one was never sent
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('SessionStreamsClient: only the service\'s own answers are taken', () => {
  const client = (server: TestServer) => new SessionStreamsClient({ baseUrl: server.url, signing: { kind: 'none' } });

  it.each([
    ['a seq that is not a positive integer', { status: 201, body: '{"seq":0}' }, 'append'],
    ['a 200 for an append', { status: 200, body: '{"seq":1}' }, 'append'],
    ['messages out of order', { status: 200, body: '{"messages":[{"seq":2,"message":1},{"seq":1,"message":2}],"more":false}' }, 'read'],
    ['messages at or before `after`', { status: 200, body: '{"messages":[{"seq":0,"message":1}],"more":false}' }, 'read'],
    ['a message without its message', { status: 200, body: '{"messages":[{"seq":1}],"more":false}' }, 'read'],
    ['more with nothing read', { status: 200, body: '{"messages":[],"more":true}' }, 'read'],
    ['no more flag', { status: 200, body: '{"messages":[]}' }, 'read'],
    ['a negative lastSeq', { status: 200, body: '{"lastSeq":-1}' }, 'lastSeq'],
    ['a 200 for a remove', { status: 200, body: '{}' }, 'remove'],
    ['the gateway\'s 404 (wrong base URL)', { status: 404, body: '{"message":"Not Found"}' }, 'lastSeq'],
  ] as [string, Reply, string][])('%s: SessionServiceError naming the route, never the ids', async (_, reply, call) => {
    const server = await serve([reply]);
    const streams = client(server);
    const sessionId = crypto.randomUUID();
    const calls: Record<string, () => Promise<unknown>> = {
      append: () => streams.append(sessionId, 'secret-stream', 1),
      read: () => streams.readAfter(sessionId, 'secret-stream', 0),
      lastSeq: () => streams.lastSeq(sessionId, 'secret-stream'),
      remove: () => streams.removeStream(sessionId, 'secret-stream'),
    };
    const error = await settle(calls[call]?.() ?? Promise.resolve());
    expect(error).toBeInstanceOf(SessionServiceError);
    const message = (error as Error).message;
    expect(message).toMatch(/\/sessions\/\{sessionId\}\/streams\/\{streamId\}/);
    expect(message).not.toContain(sessionId);
    expect(message).not.toContain(streamIdSegment('secret-stream'));
  });

  it('the service refusing a message as too large (its limit may be lower) is InvalidStreamInputError, not a service error', async () => {
    const server = await serve([{ status: 413, body: '{"error":"message_too_large","message":"a stream message must serialize to at most 1 bytes."}' }]);
    const error = await settle(client(server).append(crypto.randomUUID(), 's', 'xx'));
    expect(error).toBeInstanceOf(InvalidStreamInputError);
    expect(error).toMatchObject({ problem: 'message_too_large', message: 'a stream message must serialize to at most 1 bytes' });
  });

  it('reads are capped at MESSAGES_PAGE_MAX_BYTES, other answers at MAX_RESPONSE_BYTES: an endless body is response_too_large, not a hang', async () => {
    expect(MAX_RESPONSE_BYTES).toBeLessThan(MESSAGES_PAGE_MAX_BYTES);
    const server = await serve([{ status: 200, endlessBody: true }]);
    const streams = new SessionStreamsClient({ baseUrl: server.url, signing: { kind: 'none' }, timeoutMs: 30_000 });
    const calls: (() => Promise<unknown>)[] = [() => streams.readAfter(crypto.randomUUID(), 's', 0), () => streams.lastSeq(crypto.randomUUID(), 's')];
    for (const call of calls) {
      expect(await settle(call())).toMatchObject({ name: 'SessionServiceError', code: 'response_too_large' });
    }
  });

  it('sends the stream id base64url-encoded in the path and signs the query string with the path', async () => {
    const server = await serve([{ status: 200, body: '{"messages":[],"more":false}' }]);
    const streams = new SessionStreamsClient({ baseUrl: server.url, signing: { kind: 'sigv4', region: 'eu-west-1', credentials: TEST_CREDENTIALS } });
    const sessionId = crypto.randomUUID();
    await streams.readAfter(sessionId, 'relay:a/b', 5, { limit: 10 });
    const [seen] = server.seen;
    expect(seen?.path).toBe(`/sessions/${sessionId}/streams/${streamIdSegment('relay:a/b')}/messages?after=5&limit=10`);
    expect(seen?.headers.authorization).toBe(seen ? expectedAuthorization(seen, 'eu-west-1') : '');
  });
});

/** A loopback URL whose port was just freed: connecting is refused before a byte is sent. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
