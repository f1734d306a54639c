/**
 * The parts of mcp-sessions/mcp/sdk on their own, over DynamoDB Local: the EventStore adapter
 * (what it stores, when, and how many requests it costs), the stream server (resumption, the
 * standalone stream, its refusals), and the relay (timeouts, cancellation, hand-over in memory).
 */
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../lib/dynamodb-client.js';
import {
  RelayTimeoutError,
  STANDALONE_STREAM_ID,
  ServerRequestRelay,
  SessionEventStore,
  WRITER_GONE_ERROR,
  formatEventId,
  parseEventId,
  sessionStreamServer,
  type SessionStreamServerOptions,
} from '../lib/mcp/sdk/index.js';
import { createStreamsTestTable, streamsOn, type StreamsFixture, type TestTable } from './support/dynamo.js';
import { DEAD_ENDPOINT } from './support/fakes.js';
import { eventually } from './support/shared-instances.js';

const notification = (data: string): JSONRPCMessage => ({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data } });
const result = (id: number | string): JSONRPCMessage => ({ jsonrpc: '2.0', id, result: { content: [] } });
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface SseEvent {
  id?: string;
  data?: string;
  retry?: string;
}

/** Reads a served SSE body to its end (or until `stop` says so), as a client's parser would. */
async function readEvents(response: Response, stop: (events: SseEvent[]) => boolean = () => false): Promise<SseEvent[]> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let text = '';
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const event: SseEvent = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = line.slice(0, colon);
        const value = line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id' || field === 'data' || field === 'retry') event[field] = value;
      }
      if (Object.keys(event).length > 0) events.push(event);
    }
    if (stop(events)) {
      await reader.cancel();
      break;
    }
  }
  return events;
}

const messagesOf = (events: SseEvent[]) => events.filter((event) => event.data !== undefined && event.data !== '').map((event) => JSON.parse(event.data as string) as unknown);

describe('SessionEventStore', () => {
  let table: TestTable;
  let fixture: StreamsFixture;

  beforeAll(async () => {
    table = await createStreamsTestTable('parts-events');
    fixture = streamsOn(table);
  });

  const newStore = (sessionId: string, options: Partial<ConstructorParameters<typeof SessionEventStore>[0]> = {}) =>
    new SessionEventStore({ streams: fixture.streams, sessionId, requestIds: [7], instanceId: 'A', ...options });

  it('stores nothing for a stream that completes attached', async () => {
    const sessionId = randomUUID();
    const store = newStore(sessionId);
    const streamId = randomUUID();
    fixture.requests.reset();
    // The ids name the POST's requests (base64url of `[7]`), for a resumer that finds nothing stored.
    expect(await store.storeEvent(streamId, {} as JSONRPCMessage)).toBe(`${streamId}.Wzdd.1`);
    expect(await store.storeEvent(streamId, notification('a'))).toBe(`${streamId}.Wzdd.2`);
    expect(await store.storeEvent(streamId, result(7))).toBe(`${streamId}.Wzdd.3`);
    store.finish();
    store.discard();
    await store.detach(); // a client leaving after the end: nothing was kept to store
    expect(fixture.requests.total).toBe(0);
    expect(store.stored).toBe(false);
  });

  it('once detached: the header and the buffered events in order, then each event as it comes, heartbeats until finished', async () => {
    const sessionId = randomUUID();
    const store = newStore(sessionId, { heartbeatIntervalMs: 150 });
    const streamId = randomUUID();
    await store.storeEvent(streamId, {} as JSONRPCMessage);
    await store.storeEvent(streamId, notification('a'));
    fixture.requests.reset();
    await store.detach();
    expect(fixture.requests.byCommand).toEqual({ PutItemCommand: 2 });
    const stored = await fixture.streams.readAfter(sessionId, streamId, 0);
    expect(stored).toEqual([
      { seq: 1, message: { mcpSessions: 'stream', requestIds: [7], instance: 'A', at: expect.any(Number) } },
      { seq: 2, message: notification('a') },
    ]);
    expect(await store.storeEvent(streamId, notification('b'))).toBe(formatEventId(streamId, 3, [7]));
    // Nothing else written for a while: a heartbeat shows the writer alive.
    await eventually(async () => (await fixture.streams.lastSeq(sessionId, streamId)) >= 5);
    const beats = (await fixture.streams.readAfter(sessionId, streamId, 3)).map((m) => m.message);
    expect(beats[0]).toEqual({ mcpSessions: 'heartbeat', instance: 'A', at: expect.any(Number) });
    const last = await store.storeEvent(streamId, result(7));
    store.finish();
    const seq = parseEventId(last)?.seq;
    await pause(600); // four intervals: no more heartbeats once finished
    expect(await fixture.streams.lastSeq(sessionId, streamId)).toBe(seq);
  });

  it('puts the header first even when the stream starts without a priming event (older protocol versions)', async () => {
    const sessionId = randomUUID();
    const store = newStore(sessionId);
    const streamId = randomUUID();
    expect(await store.storeEvent(streamId, notification('a'))).toBe(formatEventId(streamId, 2, [7]));
    await store.detach();
    store.finish();
    const stored = await fixture.streams.readAfter(sessionId, streamId, 0);
    expect(stored.map((m) => m.seq)).toEqual([1, 2]);
    expect(stored[0]?.message).toMatchObject({ mcpSessions: 'stream', requestIds: [7] });
  });

  it('writes a chatty attached stream through once past its buffer limit (bounded memory)', async () => {
    const sessionId = randomUUID();
    const store = newStore(sessionId, { maxBufferedEvents: 2 });
    const streamId = randomUUID();
    await store.storeEvent(streamId, {} as JSONRPCMessage);
    await store.storeEvent(streamId, notification('a'));
    await store.storeEvent(streamId, notification('b'));
    expect(await store.storeEvent(streamId, notification('c'))).toBe(formatEventId(streamId, 4, [7]));
    store.finish();
    expect(store.stored).toBe(true);
    expect((await fixture.streams.readAfter(sessionId, streamId, 0)).map((m) => m.seq)).toEqual([1, 2, 3, 4]);
  });

  it("writes the standalone stream's events through at once", async () => {
    const sessionId = randomUUID();
    const store = newStore(sessionId);
    expect(await store.storeEvent(STANDALONE_STREAM_ID, notification('x'))).toBe(`${STANDALONE_STREAM_ID}.1`);
    expect(await fixture.streams.readAfter(sessionId, STANDALONE_STREAM_ID, 0)).toEqual([{ seq: 1, message: notification('x') }]);
  });
});

describe('event ids', () => {
  it('carry a POST stream\'s request ids, within bounds; the standalone stream\'s and those past the bounds are plain', () => {
    const streamId = randomUUID();
    expect(formatEventId(streamId, 3, [1, 'two'])).toBe(`${streamId}.${Buffer.from('[1,"two"]').toString('base64url')}.3`);
    expect(parseEventId(formatEventId(streamId, 3, [1, 'two']))).toEqual({ streamId, seq: 3, requestIds: [1, 'two'] });
    expect(formatEventId(streamId, 3, [])).toBe(`${streamId}.3`);
    expect(formatEventId(streamId, 3)).toBe(`${streamId}.3`);
    expect(parseEventId(`${streamId}.3`)).toEqual({ streamId, seq: 3 });
    expect(formatEventId(STANDALONE_STREAM_ID, 3, [1])).toBe(`${STANDALONE_STREAM_ID}.3`);
    expect(formatEventId(streamId, 3, Array.from({ length: 17 }, (_, i) => i))).toBe(`${streamId}.3`);
    expect(formatEventId(streamId, 3, ['x'.repeat(400)])).toBe(`${streamId}.3`);
    const most = Array.from({ length: 16 }, (_, i) => `request-${i}`);
    expect(parseEventId(formatEventId(streamId, 1, most))?.requestIds).toEqual(most);
  });
});

describe('sessionStreamServer', () => {
  let table: TestTable;
  let fixture: StreamsFixture;

  beforeAll(async () => {
    table = await createStreamsTestTable('parts-serve');
    fixture = streamsOn(table);
  });

  const serve = (options: Partial<SessionStreamServerOptions> = {}) =>
    sessionStreamServer({ streams: fixture.streams, livenessTimeoutMs: 300, pollMinMs: 20, pollMaxMs: 50, retryIntervalMs: 100, ...options });
  const get = (headers: Record<string, string> = {}, signal?: AbortSignal) =>
    new Request('http://localhost/mcp', { method: 'GET', headers: { accept: 'text/event-stream', ...headers }, ...(signal ? { signal } : {}) });
  const header = (ids: (number | string)[]) => ({ mcpSessions: 'stream', requestIds: ids, instance: 'A', at: 0 });

  async function storedStream(messages: unknown[]): Promise<{ sessionId: string; streamId: string }> {
    const sessionId = randomUUID();
    const streamId = randomUUID();
    for (const message of messages) await fixture.streams.append(sessionId, streamId, message);
    return { sessionId, streamId };
  }

  it('replays what came after the Last-Event-ID, skipping markers, and ends once every request has its response', async () => {
    const { sessionId, streamId } = await storedStream([header([1, 'two']), notification('a'), { mcpSessions: 'heartbeat', at: 0 }, result(1), notification('b')]);
    const response = await serve()(get({ 'last-event-id': formatEventId(streamId, 2, [1, 'two']) }), sessionId);
    expect(response.status).toBe(200);
    const appended = (async () => {
      await pause(100);
      await fixture.streams.append(sessionId, streamId, result('two'));
    })();
    const events = await readEvents(response);
    await appended;
    expect(events[0]).toEqual({ retry: '100' });
    expect(events.slice(1)).toEqual([
      { id: formatEventId(streamId, 4, [1, 'two']), data: JSON.stringify(result(1)) },
      { id: formatEventId(streamId, 5, [1, 'two']), data: JSON.stringify(notification('b')) },
      { id: formatEventId(streamId, 6, [1, 'two']), data: JSON.stringify(result('two')) },
    ]);
  });

  it('answers 204 to a resume of a stream whose responses were all sent (an EventSource stops reconnecting)', async () => {
    const { sessionId, streamId } = await storedStream([header([1]), notification('a'), result(1)]);
    expect((await serve()(get({ 'last-event-id': formatEventId(streamId, 3, [1]) }), sessionId)).status).toBe(204);
  });

  it('waits a bounded time for a stream with nothing stored, then answers the requests its id names with a stored JSON-RPC error; the next resume gets 204', async () => {
    const sessionId = randomUUID();
    const streamId = randomUUID();
    fixture.requests.reset();
    const events = await readEvents(await serve()(get({ 'last-event-id': formatEventId(streamId, 2, [3, 'four']) }), sessionId));
    expect(fixture.requests.byCommand.QueryCommand).toBeGreaterThan(1);
    expect(events).toEqual([
      { retry: '100' },
      { id: formatEventId(streamId, 2, [3, 'four']), data: JSON.stringify({ jsonrpc: '2.0', id: 3, error: WRITER_GONE_ERROR }) },
      { id: formatEventId(streamId, 3, [3, 'four']), data: JSON.stringify({ jsonrpc: '2.0', id: 'four', error: WRITER_GONE_ERROR }) },
    ]);
    // Stored as a writer would have: a header naming the requests (no instance ran them here), then the errors.
    expect((await fixture.streams.readAfter(sessionId, streamId, 0)).map((m) => m.message)).toEqual([
      { mcpSessions: 'stream', requestIds: [3, 'four'], at: expect.any(Number) },
      { jsonrpc: '2.0', id: 3, error: WRITER_GONE_ERROR },
      { jsonrpc: '2.0', id: 'four', error: WRITER_GONE_ERROR },
    ]);
    expect((await serve()(get({ 'last-event-id': formatEventId(streamId, 3, [3, 'four']) }), sessionId)).status).toBe(204);
  });

  it('answers 204 to a stream with nothing stored whose id names no requests (the plain `<streamId>.<seq>`)', async () => {
    const response = await serve()(get({ 'last-event-id': `${randomUUID()}.1` }), randomUUID());
    expect(response.status).toBe(204);
  });

  it('resumes instead when the writer stores the stream while the resumer is about to answer for it', async () => {
    const { sessionId, streamId } = await storedStream([]);
    const streams = {
      readAfter: fixture.streams.readAfter.bind(fixture.streams),
      lastSeq: fixture.streams.lastSeq.bind(fixture.streams),
      removeStream: fixture.streams.removeStream.bind(fixture.streams),
      // The writer's header lands just before the resumer's.
      append: async (...args: Parameters<typeof fixture.streams.append>) => {
        await fixture.streams.append(sessionId, streamId, header([9]));
        return fixture.streams.append(...args);
      },
    };
    const events = await readEvents(await serve({ streams })(get({ 'last-event-id': formatEventId(streamId, 1, [9]) }), sessionId));
    expect(events).toEqual([{ retry: '100' }]); // no error: the client reconnects and gets the writer's stream
    expect((await fixture.streams.readAfter(sessionId, streamId, 0)).map((m) => m.seq)).toEqual([1, 2]);
  });

  it("ends a stream whose writer went silent with a stored JSON-RPC error for each pending request; the next resume gets 204", async () => {
    const { sessionId, streamId } = await storedStream([header([5, 6]), notification('a'), result(6)]);
    const events = await readEvents(await serve()(get({ 'last-event-id': formatEventId(streamId, 2, [5, 6]) }), sessionId));
    expect(messagesOf(events)).toEqual([result(6), { jsonrpc: '2.0', id: 5, error: WRITER_GONE_ERROR }]);
    expect(events.at(-1)?.id).toBe(formatEventId(streamId, 4, [5, 6]));
    expect(await fixture.streams.lastSeq(sessionId, streamId)).toBe(4);
    expect((await serve()(get({ 'last-event-id': formatEventId(streamId, 4, [5, 6]) }), sessionId)).status).toBe(204);
  });

  it('tails the standalone stream from its newest message, with a priming event that gives the client a cursor', async () => {
    const sessionId = randomUUID();
    await fixture.streams.append(sessionId, STANDALONE_STREAM_ID, notification('old'));
    const controller = new AbortController();
    const response = await serve()(get({ 'mcp-protocol-version': '2025-11-25' }, controller.signal), sessionId);
    const publish = (async () => {
      await pause(50);
      await fixture.streams.append(sessionId, STANDALONE_STREAM_ID, notification('new'));
    })();
    const events = await readEvents(response, (seen) => seen.length >= 2);
    await publish;
    expect(events).toEqual([
      { id: `${STANDALONE_STREAM_ID}.1`, retry: '100', data: '' },
      { id: `${STANDALONE_STREAM_ID}.2`, data: JSON.stringify(notification('new')) },
    ]);
    // Reconnecting from its cursor loses nothing.
    const resumed = await serve()(get({ 'last-event-id': `${STANDALONE_STREAM_ID}.0` }), sessionId);
    const replayed = await readEvents(resumed, (seen) => messagesOf(seen).length >= 2);
    expect(messagesOf(replayed)).toEqual([notification('old'), notification('new')]);
  });

  it('ends a served stream after its maximum lifetime (the client reconnects)', async () => {
    const events = await readEvents(await serve({ maxStreamMs: 200 })(get(), randomUUID()));
    expect(events).toEqual([{ retry: '100' }]);
  });

  it('refuses what it cannot serve: no text/event-stream 406, an id not ours 400, a store that does not answer 503', async () => {
    expect((await serve()(get({ accept: 'application/json' }), randomUUID())).status).toBe(406);
    const encoded = (text: string) => Buffer.from(text).toString('base64url');
    const notOurs = [
      'nonsense',
      `relay:${randomUUID()}.1`,
      `${randomUUID()}.-1`,
      `${randomUUID()}.x`,
      // Request ids that are not what formatEventId writes: none, too many, too long, not ids, not canonical, not base64url.
      `${randomUUID()}..1`,
      `${randomUUID()}.${encoded('[]')}.1`,
      `${randomUUID()}.${encoded(JSON.stringify(Array.from({ length: 17 }, (_, i) => i)))}.1`,
      `${randomUUID()}.${encoded(JSON.stringify(['x'.repeat(400)]))}.1`,
      `${randomUUID()}.${encoded('[null]')}.1`,
      `${randomUUID()}.${encoded('[{"id":1}]')}.1`,
      `${randomUUID()}.${encoded('[ 1]')}.1`,
      `${randomUUID()}.${encoded('[1]')}=.1`,
      `${randomUUID()}.W1.1`,
      `${randomUUID()}.Wzdd.Wzdd.1`,
      `${STANDALONE_STREAM_ID}.Wzdd.1`,
    ];
    for (const id of notOurs) {
      expect((await serve()(get({ 'last-event-id': id }), randomUUID())).status).toBe(400);
    }
    const dead = streamsOn(table, { raw: createDynamoClient({ endpoint: DEAD_ENDPOINT, maxAttempts: 1 }) });
    const down = sessionStreamServer({ streams: dead.streams, storeDeadlineMs: 1000 });
    const refused = await down(get(), randomUUID());
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await down(get({ 'last-event-id': `${randomUUID()}.1` }), randomUUID())).status).toBe(503);
  });
});

describe('ServerRequestRelay', () => {
  let table: TestTable;
  let fixture: StreamsFixture;

  beforeAll(async () => {
    table = await createStreamsTestTable('parts-relay');
    fixture = streamsOn(table);
  });

  const relayOn = () => new ServerRequestRelay({ streams: fixture.streams, pollMinMs: 20, pollMaxMs: 50 });

  it('hands an answer POSTed to the same process over in memory, storing nothing', async () => {
    const relay = relayOn();
    const sessionId = randomUUID();
    const relayId = relay.newRelayId();
    fixture.requests.reset();
    const waiting = relay.wait(sessionId, relayId, { timeoutMs: 60_000 });
    expect(await relay.deliver(sessionId, { jsonrpc: '2.0', id: relayId, result: { ok: true } })).toBe('local');
    expect(await waiting).toEqual({ jsonrpc: '2.0', id: relayId, result: { ok: true } });
    expect(relay.pending).toBe(0);
    expect(fixture.requests.byCommand.PutItemCommand ?? 0).toBe(0);
    expect(fixture.requests.byCommand.BatchWriteItemCommand ?? 0).toBe(0);
  });

  it('takes an answer stored by another process from the relay stream, then removes the stream', async () => {
    const waiter = relayOn();
    const other = relayOn();
    const sessionId = randomUUID();
    const relayId = waiter.newRelayId();
    const waiting = waiter.wait(sessionId, relayId, { timeoutMs: 60_000 });
    expect(await other.deliver(sessionId, { jsonrpc: '2.0', id: relayId, result: { n: 1 } })).toBe('stored');
    expect(await waiting).toEqual({ jsonrpc: '2.0', id: relayId, result: { n: 1 } });
    await eventually(async () => (await fixture.streams.lastSeq(sessionId, relayId)) === 0);
  });

  it('an answer for another session is not handed over', async () => {
    const relay = relayOn();
    const relayId = relay.newRelayId();
    const mine = randomUUID();
    const waiting = relay.wait(mine, relayId, { timeoutMs: 300 });
    expect(await relay.deliver(randomUUID(), { jsonrpc: '2.0', id: relayId, result: {} })).toBe('stored');
    await expect(waiting).rejects.toBeInstanceOf(RelayTimeoutError);
  });

  it('gives up at its timeout (RelayTimeoutError) and on its signal, leaving no waiter', async () => {
    const relay = relayOn();
    const sessionId = randomUUID();
    await expect(relay.wait(sessionId, relay.newRelayId(), { timeoutMs: 100 })).rejects.toBeInstanceOf(RelayTimeoutError);
    const cancel = new AbortController();
    const waiting = relay.wait(sessionId, relay.newRelayId(), { timeoutMs: 60_000, signal: cancel.signal });
    cancel.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    const closing = relay.wait(sessionId, relay.newRelayId(), { timeoutMs: 60_000 });
    relay.close();
    await expect(closing).rejects.toThrow();
    expect(relay.pending).toBe(0);
  });
});
