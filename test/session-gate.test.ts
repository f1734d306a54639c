import { beforeAll, describe, expect, it } from 'vitest';
import { exampleMcpHandler } from '../examples/mcp-server/app.js';
import { scanAll } from '../scripts/local/scan-all.js';
import { STORE_UNAVAILABLE_LOG, ownerForPrincipal, sessionGate, type GateContext, type McpHandler, type SessionGateOptions } from '../lib/mcp/session-gate.js';
import { DEAD_ENDPOINT } from './support/fakes.js';
import { SessionServiceError } from '../lib/session-client.js';
import type { SessionStore } from '../lib/session-store.js';
import { createStreamsTestTable, createTestTable, localClient, readItem, storeOn, streamsOn, type StoreFixture, type TestTable } from './support/dynamo.js';

const MCP_URL = 'http://localhost/mcp';
const CLIENT_INFO = { name: 'c', version: '1' };
const initializeBody = (id: number | string = 1, protocolVersion = '2025-11-25') =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion, clientInfo: CLIENT_INFO, capabilities: { roots: {} } } });
const toolsList = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });

function post(body: string, headers: Record<string, string> = {}): Request {
  return new Request(MCP_URL, { method: 'POST', body, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } });
}
const del = (sessionId: string, headers: Record<string, string> = {}) => new Request(MCP_URL, { method: 'DELETE', headers: { 'mcp-session-id': sessionId, ...headers } });

/** Answers the way an MCP server does: an InitializeResult (with `negotiated`) to initialize, an empty result otherwise. */
const mcpLikeReply =
  (negotiated = '2025-11-25') =>
  (_request: Request, { parsedBody }: GateContext): Response => {
    const message = parsedBody as { id?: unknown; method?: unknown };
    const result = message.method === 'initialize' ? { protocolVersion: negotiated, capabilities: {}, serverInfo: { name: 's', version: '1' } } : {};
    return Response.json({ jsonrpc: '2.0', id: message.id ?? null, result });
  };

/** A gate over the real store, with a stand-in MCP handler that records what reached it. */
function gateOver(
  fixture: StoreFixture,
  reply: (request: Request, context: GateContext) => Response | Promise<Response> = mcpLikeReply(),
  options: Partial<SessionGateOptions> = {},
) {
  const reached: GateContext[] = [];
  const handler: McpHandler = async (request, context) => {
    reached.push(context);
    return reply(request, context);
  };
  const gate = sessionGate({ store: fixture.store, principalOf: (request) => request.headers.get('x-user') ?? undefined, ...options }, handler);
  return { gate, reached };
}

const errorOf = async (response: Response) => ((await response.json()) as { error?: { code?: number; message?: string } }).error;
/** What the store returns for the session: its metadata, read back through the store. */
const metadataOf = async (sessionId: string, principal?: string) => {
  const status = await fixture.store.check(sessionId, principal === undefined ? {} : { owner: ownerForPrincipal(principal) });
  return status.active ? status.metadata : undefined;
};
const itemCount = async (table: TestTable) => (await scanAll(table.client, { TableName: table.tableName, Select: 'COUNT' })).count;

let table: TestTable;
let fixture: StoreFixture;
beforeAll(async () => {
  table = await createTestTable('gate');
  fixture = storeOn(table);
});

describe('session gate', () => {
  it('initialize starts a session bound to a digest of the principal, with metadata, and returns Mcp-Session-Id', async () => {
    const { gate, reached } = gateOver(fixture);
    const response = await gate(post(initializeBody(), { 'x-user': 'alice' }));
    expect(response.status).toBe(200);
    const sessionId = response.headers.get('mcp-session-id') ?? '';
    // The handler answers first: it sees the parsed body and the principal, and no session yet.
    expect(reached[0]).toEqual({ parsedBody: JSON.parse(initializeBody()), principal: 'alice' });
    const item = await readItem(table, sessionId);
    expect(item?.owner).toBe(ownerForPrincipal('alice'));
    expect(item?.owner).toMatch(/^[0-9a-f]{64}$/);
    expect(await fixture.store.check(sessionId, { owner: ownerForPrincipal('alice') })).toMatchObject({
      active: true,
      metadata: { protocolVersion: '2025-11-25', clientInfo: CLIENT_INFO, capabilities: { roots: {} } },
    });
  });

  it('an active id passes on with its session and parsed body; unknown, malformed or not-owned ids get 404 / -32001', async () => {
    const { gate, reached } = gateOver(fixture);
    const sessionId = (await gate(post(initializeBody(), { 'x-user': 'alice' }))).headers.get('mcp-session-id') ?? '';
    const ok = await gate(post(toolsList, { 'mcp-session-id': sessionId, 'x-user': 'alice' }));
    expect(ok.status).toBe(200);
    expect(reached[1]).toMatchObject({ parsedBody: JSON.parse(toolsList), principal: 'alice', session: { sessionId, metadata: { clientInfo: CLIENT_INFO } } });
    for (const [id, user] of [[crypto.randomUUID(), 'alice'], ['garbage', 'alice'], [sessionId, 'bob'], [sessionId, '']] as const) {
      const response = await gate(post(toolsList, { 'mcp-session-id': id, ...(user ? { 'x-user': user } : {}) }));
      expect(response.status).toBe(404);
      expect(await errorOf(response)).toEqual({ code: -32001, message: 'Session not found' });
    }
    expect(reached).toHaveLength(2);
  });

  it('400 without the header, or with a repeated / comma-joined one', async () => {
    const { gate, reached } = gateOver(fixture);
    const a = crypto.randomUUID();
    const headers = new Headers({ 'content-type': 'application/json' });
    headers.append('mcp-session-id', a);
    headers.append('mcp-session-id', a);
    for (const request of [post(toolsList), post(toolsList, { 'mcp-session-id': `${a},${a}` }), new Request(MCP_URL, { method: 'POST', body: toolsList, headers })]) {
      const response = await gate(request);
      expect(response.status).toBe(400);
      expect((await errorOf(response))?.code).toBe(-32000);
    }
    expect((await gate(new Request(MCP_URL, { method: 'GET' }))).status).toBe(400);
    expect(reached).toHaveLength(0);
  });

  it('a body that is not JSON gets 400 / -32700 before any store call', async () => {
    const { gate, reached } = gateOver(fixture);
    fixture.requests.reset();
    const response = await gate(post('{"jsonrpc":', { 'mcp-session-id': crypto.randomUUID() }));
    expect(response.status).toBe(400);
    expect((await errorOf(response))?.code).toBe(-32700);
    expect(reached).toHaveLength(0);
    expect(fixture.requests.total).toBe(0);
  });

  it('an initialize carrying a stale id gets a fresh session, not a 400', async () => {
    const { gate } = gateOver(fixture);
    const stale = crypto.randomUUID();
    const response = await gate(post(initializeBody(), { 'mcp-session-id': stale }));
    expect(response.status).toBe(200);
    expect(response.headers.get('mcp-session-id')).not.toBe(stale);
  });
});

describe('initialize: a session only for a successful InitializeResult, with the negotiated version', () => {
  it('stores the protocol version the server negotiated, not the one the client asked for (official SDK server)', async () => {
    const gate = exampleMcpHandler({ store: fixture.store, streams: streamsOn(await createStreamsTestTable('gate-example')).streams, instance: 't', principalOf: (request) => request.headers.get('x-user') ?? undefined });
    const response = await gate(post(initializeBody(1, '2099-01-01'), { 'x-user': 'alice' }));
    expect(response.status).toBe(200);
    // The example answers as an SSE stream (resumable); the InitializeResult is its one message.
    const data = (await response.text()).split('\n').filter((line) => line.startsWith('data: {'));
    expect(data).toHaveLength(1);
    const answer = JSON.parse(data[0]?.slice('data: '.length) ?? '') as { result: { protocolVersion: string } };
    expect(answer.result.protocolVersion).toBe('2025-11-25');
    expect(await metadataOf(response.headers.get('mcp-session-id') ?? '', 'alice')).toMatchObject({ protocolVersion: '2025-11-25', clientInfo: CLIENT_INFO });
  });

  it('stores the negotiated version when the handler answers with another supported one', async () => {
    const { gate } = gateOver(fixture, mcpLikeReply('2025-06-18'));
    const response = await gate(post(initializeBody(1, '2025-11-25')));
    expect(await metadataOf(response.headers.get('mcp-session-id') ?? '')).toMatchObject({ protocolVersion: '2025-06-18' });
  });

  it('an initialize answered with a JSON-RPC error (HTTP 200) issues no session id and leaves no item behind', async () => {
    const before = await itemCount(table);
    const error = { jsonrpc: '2.0', id: 7, error: { code: -32602, message: 'no thanks' } };
    const { gate } = gateOver(fixture, () => Response.json(error));
    const response = await gate(post(initializeBody(7)));
    expect(response.status).toBe(200);
    expect(response.headers.get('mcp-session-id')).toBeNull();
    expect(await response.json()).toEqual(error);
    expect(await itemCount(table)).toBe(before);
  });

  it('an initialize the handler refuses with an HTTP error issues no session id and leaves no item behind', async () => {
    const before = await itemCount(table);
    const { gate } = gateOver(fixture, () => new Response('{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"no"}}', { status: 406, headers: { 'content-type': 'application/json' } }));
    const response = await gate(post(initializeBody()));
    expect(response.status).toBe(406);
    expect(response.headers.get('mcp-session-id')).toBeNull();
    expect(await itemCount(table)).toBe(before);
  });

  it('an initialize whose handler throws gets 500 / -32603 without internals, no session id, no item', async () => {
    const before = await itemCount(table);
    const { gate } = gateOver(fixture, () => {
      throw new Error('secret table name arn:aws:dynamodb:eu-west-1:123:table/x');
    });
    const response = await gate(post(initializeBody()));
    expect(response.status).toBe(500);
    expect(response.headers.get('mcp-session-id')).toBeNull();
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32603, message: 'Internal error' } });
    expect(text).not.toMatch(/arn|secret/);
    expect(await itemCount(table)).toBe(before);
  });

  it('an initialize answered with a result of a version the gate keeps no sessions for gets 400 / -32602 and stores nothing', async () => {
    const before = await itemCount(table);
    const { gate } = gateOver(fixture, mcpLikeReply('2024-11-05'));
    const response = await gate(post(initializeBody(1, '2024-11-05')));
    expect(response.status).toBe(400);
    expect(response.headers.get('mcp-session-id')).toBeNull();
    expect((await errorOf(response))?.code).toBe(-32602);
    expect(await itemCount(table)).toBe(before);
  });

  it('an initialize answered over SSE: the first message that answers it decides, and the stream reaches the client unchanged', async () => {
    const events = [
      'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"hi"}}\n\n',
      `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 'init-1', result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 's', version: '1' } } })}\n\n`,
    ];
    const { gate } = gateOver(fixture, () => {
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          // Split mid-event, as a network would.
          const all = events.join('');
          controller.enqueue(encoder.encode(all.slice(0, 30)));
          controller.enqueue(encoder.encode(all.slice(30)));
          controller.close();
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    });
    const response = await gate(post(initializeBody('init-1')));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const sessionId = response.headers.get('mcp-session-id') ?? '';
    expect(await response.text()).toBe(events.join(''));
    expect(await metadataOf(sessionId)).toMatchObject({ protocolVersion: '2025-06-18' });
  });

  it('a JSON-RPC batch containing initialize gets a clear 400 / -32600, and nothing is stored', async () => {
    const { gate, reached } = gateOver(fixture);
    fixture.requests.reset();
    const batch = `[${initializeBody()},${toolsList}]`;
    const response = await gate(post(batch));
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error?.code).toBe(-32600);
    expect(error?.message).toMatch(/initialize.*batch/);
    expect(reached).toHaveLength(0);
    expect(fixture.requests.total).toBe(0);
  });

  it('initialize params too large to store are refused (400 / -32602) before the handler runs', async () => {
    const { gate, reached } = gateOver(fixture);
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', clientInfo: { name: 'x'.repeat(9000), version: '1' }, capabilities: {} } });
    const response = await gate(post(big));
    expect(response.status).toBe(400);
    expect((await errorOf(response))?.code).toBe(-32602);
    expect(reached).toHaveLength(0);
  });
});

describe('requireOwner', () => {
  it('requireOwner: an initialize without a principal gets 401 with a JSON-RPC error, before anything is stored', async () => {
    const { gate, reached } = gateOver(fixture, mcpLikeReply(), { requireOwner: true });
    const before = await itemCount(table);
    fixture.requests.reset();
    for (const headers of [{}, { 'x-user': '' }] as Record<string, string>[]) {
      const response = await gate(post(initializeBody(), headers));
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(response.headers.get('mcp-session-id')).toBeNull();
      expect(await response.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000, message: expect.stringMatching(/principal/) } });
    }
    expect(reached).toHaveLength(0);
    expect(fixture.requests.byCommand.PutItemCommand ?? 0).toBe(0);
    expect(await itemCount(table)).toBe(before);
    expect((await gate(post(initializeBody(), { 'x-user': 'alice' }))).status).toBe(200);
  });
});

describe('protocol versions', () => {
  it('MCP-Protocol-Version 2026-07-28 or 9999-12-31 no longer skips the session and owner checks: 400 unless opted in', async () => {
    const { gate, reached } = gateOver(fixture);
    fixture.requests.reset();
    for (const version of ['2026-07-28', '9999-12-31', 'garbage', '2025-11-25, 2025-11-25']) {
      for (const request of [post(initializeBody(), { 'mcp-protocol-version': version }), post(toolsList, { 'mcp-protocol-version': version, 'mcp-session-id': 'whatever' }), del('whatever', { 'mcp-protocol-version': version })]) {
        const response = await gate(request);
        expect(response.status).toBe(400);
        expect(await errorOf(response)).toMatchObject({ code: -32000, message: expect.stringMatching(/^Bad Request: Unsupported protocol version/) });
      }
    }
    expect(reached).toHaveLength(0);
    expect(fixture.requests.total).toBe(0);
  });

  it('sessionlessVersions: only the listed versions pass through untouched (no id minted, none checked), with the parsed body', async () => {
    const { gate, reached } = gateOver(fixture, mcpLikeReply(), { sessionlessVersions: ['2026-07-28'] });
    fixture.requests.reset();
    const headers = { 'mcp-protocol-version': '2026-07-28', 'x-user': 'alice' };
    const first = await gate(post(initializeBody(), headers));
    const second = await gate(post(toolsList, { ...headers, 'mcp-session-id': 'whatever' }));
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(first.headers.get('mcp-session-id')).toBeNull();
    expect(reached).toEqual([
      { parsedBody: JSON.parse(initializeBody()), principal: 'alice' },
      { parsedBody: JSON.parse(toolsList), principal: 'alice' },
    ]);
    expect(fixture.requests.total).toBe(0);
    expect((await gate(post(toolsList, { 'mcp-protocol-version': '9999-12-31' }))).status).toBe(400);
  });

  it('sessionlessVersions cannot list a version with sessions', () => {
    expect(() => sessionGate({ store: fixture.store, sessionlessVersions: ['2025-06-18'] }, async () => new Response())).toThrow(RangeError);
  });

  it('a request whose version differs from the one negotiated for its session gets 400; the same or none passes', async () => {
    const { gate, reached } = gateOver(fixture, mcpLikeReply('2025-06-18'));
    const sessionId = (await gate(post(initializeBody()))).headers.get('mcp-session-id') ?? '';
    const mismatched = await gate(post(toolsList, { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' }));
    expect(mismatched.status).toBe(400);
    expect(await errorOf(mismatched)).toMatchObject({ code: -32000, message: expect.stringMatching(/negotiated/) });
    expect(reached).toHaveLength(1);
    expect((await gate(post(toolsList, { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' }))).status).toBe(200);
    // No header: the version negotiated at initialize applies (spec, backwards compatibility).
    expect((await gate(post(toolsList, { 'mcp-session-id': sessionId }))).status).toBe(200);
    expect(reached).toHaveLength(3);
  });
});

describe('DELETE matches the spec and the official SDK', () => {
  it('DELETE of a live session: 200 and onSessionEnded hears of it; again, unknown, expired or not-owned: 404 / -32001', async () => {
    const ended: unknown[] = [];
    const { gate } = gateOver(fixture, mcpLikeReply(), { onSessionEnded: (session) => void ended.push(session) });
    const sessionId = (await gate(post(initializeBody(), { 'x-user': 'alice' }))).headers.get('mcp-session-id') ?? '';

    // Someone else's: 404, and the session is untouched.
    const notOwned = await gate(del(sessionId, { 'x-user': 'mallory' }));
    expect(notOwned.status).toBe(404);
    expect(await errorOf(notOwned)).toEqual({ code: -32001, message: 'Session not found' });
    expect((await gate(post(toolsList, { 'mcp-session-id': sessionId, 'x-user': 'alice' }))).status).toBe(200);

    const live = await gate(del(sessionId, { 'x-user': 'alice' }));
    expect(live.status).toBe(200);
    expect(ended).toEqual([{ sessionId, principal: 'alice' }]);

    for (const request of [del(sessionId, { 'x-user': 'alice' }), del(crypto.randomUUID()), del('garbage')]) {
      const response = await gate(request);
      expect(response.status).toBe(404);
      expect(await errorOf(response)).toEqual({ code: -32001, message: 'Session not found' });
    }
    expect((await gate(post(toolsList, { 'mcp-session-id': sessionId, 'x-user': 'alice' }))).status).toBe(404);
    expect(ended).toHaveLength(1);
  });

  it('DELETE of an expired session: 404 / -32001, no onSessionEnded', async () => {
    const ended: unknown[] = [];
    const own = storeOn(table, { ttlSeconds: 60 });
    const { gate } = gateOver(own, mcpLikeReply(), { onSessionEnded: (session) => void ended.push(session) });
    const sessionId = (await gate(post(initializeBody()))).headers.get('mcp-session-id') ?? '';
    own.clock.advance(61);
    const response = await gate(del(sessionId));
    expect(response.status).toBe(404);
    expect((await errorOf(response))?.code).toBe(-32001);
    expect(ended).toEqual([]);
  });

  it('a failing onSessionEnded hook is logged by name and the DELETE still answers 200', async () => {
    const { gate } = gateOver(fixture, mcpLikeReply(), {
      logger: fixture.logger,
      onSessionEnded: () => {
        throw new TypeError('hook broke');
      },
    });
    const sessionId = (await gate(post(initializeBody()))).headers.get('mcp-session-id') ?? '';
    expect((await gate(del(sessionId))).status).toBe(200);
    expect(fixture.logger.lines).toContainEqual({ level: 'error', message: 'onSessionEnded failed', attributes: { error: 'TypeError' } });
  });
});

describe('a failing store', () => {
  it('answers 503 with Retry-After and a JSON-RPC error, never 404, and never reaches the handler', async () => {
    const dead = storeOn(table, { raw: localClient({ endpoint: DEAD_ENDPOINT, maxAttempts: 1 }) });
    const { gate, reached } = gateOver(dead, mcpLikeReply(), { logger: dead.logger });
    for (const request of [post(toolsList, { 'mcp-session-id': crypto.randomUUID() }), del(crypto.randomUUID())]) {
      const response = await gate(request);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(await response.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Session store temporarily unavailable; retry shortly' } });
    }
    expect(reached).toHaveLength(0);
    expect(dead.logger.lines.filter((line) => line.message === STORE_UNAVAILABLE_LOG)).toHaveLength(2);
  });

  it('an initialize the handler accepted but the store could not start: 503, no session id', async () => {
    const dead = storeOn(table, { raw: localClient({ endpoint: DEAD_ENDPOINT, maxAttempts: 1 }) });
    const { gate, reached } = gateOver(dead);
    const response = await gate(post(initializeBody()));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(response.headers.get('mcp-session-id')).toBeNull();
    expect(reached).toHaveLength(1);
  });
});

describe('session gate: every answer is JSON-RPC, and every wait has a deadline', () => {
  it('a store failing with something other than an outage (a service answering 403) gets a JSON-RPC 500, logged by name, not an empty 500', async () => {
    const lines: { message: string; attributes: Record<string, unknown> }[] = [];
    const logger = { info: () => undefined, warn: () => undefined, error: (message: string, attributes: Record<string, unknown>) => void lines.push({ message, attributes }) };
    const forbidden: SessionStore = {
      start: () => Promise.reject(new SessionServiceError(403, 'AccessDeniedException', 'POST http://sessions.test/sessions')),
      check: () => Promise.reject(new SessionServiceError(403, 'AccessDeniedException', 'GET http://sessions.test/sessions/{sessionId}')),
      destroy: () => Promise.reject(new SessionServiceError(403, 'AccessDeniedException', 'DELETE http://sessions.test/sessions/{sessionId}')),
      updateState: () => Promise.reject(new SessionServiceError(403, 'AccessDeniedException', 'PATCH http://sessions.test/sessions/{sessionId}/state')),
    };
    const gate = sessionGate({ store: forbidden, logger }, async (request, context) => mcpLikeReply()(request, context));
    for (const request of [post(initializeBody()), post(toolsList, { 'mcp-session-id': crypto.randomUUID() }), del(crypto.randomUUID())]) {
      const response = await gate(request);
      expect(response.status).toBe(500);
      expect(response.headers.get('content-type')).toContain('application/json');
      expect(await errorOf(response)).toMatchObject({ code: -32603, message: 'Internal error' });
    }
    expect(lines.map((line) => line.attributes)).toEqual(Array.from({ length: 3 }, () => ({ error: 'SessionServiceError', status: 403, code: 'AccessDeniedException' })));
  });

  it('a principalOf that throws gets a JSON-RPC 500 too, on the session-less path as well', async () => {
    const gate = sessionGate({ store: fixture.store, sessionlessVersions: ['2026-07-28'], principalOf: () => { throw new Error('auth backend down'); } }, async (request, context) => mcpLikeReply()(request, context));
    for (const request of [post(initializeBody()), post(toolsList, { 'mcp-protocol-version': '2026-07-28' })]) {
      const response = await gate(request);
      expect(response.status).toBe(500);
      expect(await errorOf(response)).toMatchObject({ code: -32603 });
    }
  });

  it('an initialize the handler answers with a stream that trickles without ever replying gets 504 at the deadline, and stores nothing', async () => {
    const before = await itemCount(table);
    const encoder = new TextEncoder();
    let timer: NodeJS.Timeout | undefined;
    let cancelled = false;
    const trickle = new ReadableStream<Uint8Array>({
      start(controller) {
        timer = setInterval(() => controller.enqueue(encoder.encode(': keep-alive\n\n')), 20);
      },
      cancel() {
        cancelled = true;
        clearInterval(timer);
      },
    });
    const { gate } = gateOver(fixture, () => new Response(trickle, { headers: { 'content-type': 'text/event-stream' } }));
    const caller = new AbortController();
    const request = new Request(MCP_URL, { method: 'POST', body: initializeBody(), headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, signal: caller.signal });
    // The request's own signal is part of the deadline: a client that goes away ends the wait (the 10 s budget is the other end).
    setTimeout(() => caller.abort(), 100);
    const response = await gate(request);
    expect(response.status).toBe(504);
    expect(response.headers.get('mcp-session-id')).toBeNull();
    expect(await errorOf(response)).toMatchObject({ code: -32603 });
    expect(cancelled).toBe(true);
    expect(await itemCount(table)).toBe(before);
  });

  it('initialize params are size-checked with the longest configured session version, so an accepted initialize can always be stored', async () => {
    const longVersion = '2025-11-25-with-a-much-longer-custom-suffix';
    const { gate, reached } = gateOver(fixture, mcpLikeReply(longVersion), { sessionVersions: [longVersion, '2025-11-25'] });
    const metadataRoom = 8 * 1024 - JSON.stringify({ protocolVersion: '2025-11-25', clientInfo: CLIENT_INFO, capabilities: { pad: '' } }).length;
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: longVersion, clientInfo: CLIENT_INFO, capabilities: { pad: 'x'.repeat(metadataRoom - 5) } } });
    const response = await gate(post(body, { 'mcp-protocol-version': longVersion }));
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: -32602 });
    expect(reached).toHaveLength(0); // refused before the handler ran, not after it had answered
  });
});
